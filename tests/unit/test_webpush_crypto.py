"""RFC 8291 message encryption: the RFC's own example byte for byte, round trips, limits, tampering."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.webpush_message import MAX_PAYLOAD_BYTES
from pushwise.providers.webpush_crypto import (
    HEADER_BYTES,
    MAX_PLAINTEXT_BYTES,
    RECORD_SIZE,
    WebPushCryptoError,
    b64url_decode,
    b64url_encode,
    decrypt,
    encrypt,
    public_key_bytes,
)

# RFC 8291 Appendix A, "Push Message Encryption Example" (all values base64url as printed there).
RFC_PLAINTEXT = b"When I grow up, I want to be a watermelon"
RFC_AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
RFC_AS_PUBLIC = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
RFC_UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
RFC_UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
RFC_SALT = "DGv6ra1nlYgDCS1FRnbzlw"
RFC_AUTH_SECRET = "BTBZMqHH6r4Tts7J_aSIgg"
RFC_BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)


def _private(scalar_b64: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64url_decode(scalar_b64), "big"), ec.SECP256R1())


def _receiver() -> tuple[ec.EllipticCurvePrivateKey, bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, public_key_bytes(key), bytes(range(16))


def test_rfc8291_appendix_a_byte_for_byte() -> None:
    sender = _private(RFC_AS_PRIVATE)
    assert b64url_encode(public_key_bytes(sender)) == RFC_AS_PUBLIC
    body = encrypt(
        RFC_PLAINTEXT,
        b64url_decode(RFC_UA_PUBLIC),
        b64url_decode(RFC_AUTH_SECRET),
        sender_key=sender,
        salt=b64url_decode(RFC_SALT),
    )
    assert b64url_encode(body) == RFC_BODY


def test_rfc8291_appendix_a_decrypts_with_the_user_agent_key() -> None:
    receiver = _private(RFC_UA_PRIVATE)
    assert b64url_encode(public_key_bytes(receiver)) == RFC_UA_PUBLIC
    assert decrypt(b64url_decode(RFC_BODY), receiver, b64url_decode(RFC_AUTH_SECRET)) == RFC_PLAINTEXT


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(min_size=0, max_size=MAX_PLAINTEXT_BYTES))
def test_round_trip_for_every_plaintext_length(plaintext: bytes) -> None:
    key, public, auth = _receiver()
    body = encrypt(plaintext, public, auth)
    assert len(body) == HEADER_BYTES + len(plaintext) + 1 + 16
    assert decrypt(body, key, auth) == plaintext


def test_largest_plaintext_fills_exactly_one_4096_byte_body() -> None:
    _, public, auth = _receiver()
    body = encrypt(b"x" * MAX_PLAINTEXT_BYTES, public, auth)
    assert len(body) == RECORD_SIZE
    assert MAX_PLAINTEXT_BYTES == MAX_PAYLOAD_BYTES == 3993
    with pytest.raises(WebPushCryptoError):
        encrypt(b"x" * (MAX_PLAINTEXT_BYTES + 1), public, auth)


def test_each_message_gets_a_fresh_salt_and_sender_key() -> None:
    _, public, auth = _receiver()
    first, second = encrypt(b"same", public, auth), encrypt(b"same", public, auth)
    assert first[:16] != second[:16]
    assert first[21:86] != second[21:86]


def test_tampered_message_or_wrong_secret_is_refused() -> None:
    key, public, auth = _receiver()
    body = bytearray(encrypt(b"hello", public, auth))
    body[-1] ^= 1
    with pytest.raises(WebPushCryptoError, match="authentication"):
        decrypt(bytes(body), key, auth)
    with pytest.raises(WebPushCryptoError):
        decrypt(encrypt(b"hello", public, auth), key, bytes(16))


def test_unusable_subscription_keys_are_refused() -> None:
    _, public, auth = _receiver()
    with pytest.raises(WebPushCryptoError):
        encrypt(b"x", public[:33], auth)  # a compressed-length point
    with pytest.raises(WebPushCryptoError):
        encrypt(b"x", b"\x04" + bytes(64), auth)  # not on the curve
    with pytest.raises(WebPushCryptoError):
        encrypt(b"x", public, auth[:8])


def test_base64url_accepts_padding_and_refuses_garbage() -> None:
    assert b64url_decode("YQ==") == b64url_decode("YQ") == b"a"
    with pytest.raises(WebPushCryptoError):
        b64url_decode("a")
