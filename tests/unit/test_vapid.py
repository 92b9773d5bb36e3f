"""VAPID (RFC 8292): header form, claims, caching on the injected clock, verification, key formats."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushwise.domain.clock import ManualClock
from pushwise.providers.vapid import (
    MAX_LIFETIME_S,
    VapidKeyError,
    VapidRejected,
    VapidSigner,
    check_claims,
    generate_vapid_keys,
    load_vapid_private_key,
    private_key_text,
    validate_subject,
    verify_authorization,
)
from pushwise.providers.webpush_crypto import b64url_decode, b64url_encode, public_key_bytes

ORIGIN = "https://push.example.net"
SUBJECT = "mailto:ops@example.com"


def _signer(clock: ManualClock) -> VapidSigner:
    return VapidSigner(ec.generate_private_key(ec.SECP256R1()), SUBJECT, clock)


def test_header_carries_a_jwt_for_the_origin_and_the_signing_public_key() -> None:
    clock = ManualClock(1_800_000_000)
    signer = _signer(clock)
    header = signer.authorization(ORIGIN)
    assert header.startswith("vapid t=")
    claims = verify_authorization(header)
    assert claims.audience == ORIGIN
    assert claims.subject == SUBJECT
    assert claims.expires == 1_800_000_000 + 12 * 3600
    assert claims.public_key == signer.public_key
    token = header.split("t=")[1].split(",")[0]
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT"}
    check_claims(claims, origin=ORIGIN, now=clock.now())


def test_header_is_reused_per_origin_until_an_hour_before_expiry() -> None:
    clock = ManualClock(1_800_000_000)
    signer = _signer(clock)
    first = signer.authorization(ORIGIN)
    assert signer.authorization("https://other.example.net") != first
    clock.advance(11 * 3600 - 1)
    assert signer.authorization(ORIGIN) == first
    clock.advance(1)
    renewed = signer.authorization(ORIGIN)
    assert renewed != first
    assert verify_authorization(renewed).expires == clock.now() + 12 * 3600


def test_push_service_refuses_tokens_expiring_more_than_24_hours_ahead() -> None:
    clock = ManualClock(1_800_000_000)
    claims = verify_authorization(_signer(clock).authorization(ORIGIN))
    with pytest.raises(VapidRejected) as rejected:
        check_claims(claims, origin=ORIGIN, now=claims.expires - MAX_LIFETIME_S - 1)
    assert rejected.value.status == 401
    check_claims(claims, origin=ORIGIN, now=claims.expires - MAX_LIFETIME_S)


def test_push_service_refuses_expired_tokens_and_other_audiences() -> None:
    clock = ManualClock(1_800_000_000)
    claims = verify_authorization(_signer(clock).authorization(ORIGIN))
    with pytest.raises(VapidRejected) as expired:
        check_claims(claims, origin=ORIGIN, now=claims.expires)
    assert expired.value.status == 401
    with pytest.raises(VapidRejected) as elsewhere:
        check_claims(claims, origin="https://evil.example.net", now=clock.now())
    assert elsewhere.value.status == 403


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: None,
        lambda h: h.replace("vapid", "WebPush", 1),
        lambda h: h.split(",")[0],
        lambda h: h.split("k=")[0] + "k=" + generate_vapid_keys()[1],  # signed by another key
        lambda h: h.replace("t=ey", "t=ez", 1),
    ],
    ids=["missing", "scheme", "no-k", "wrong-k", "garbled-jwt"],
)
def test_malformed_or_forged_headers_are_unauthorized(mangle: object) -> None:
    header = _signer(ManualClock()).authorization(ORIGIN)
    with pytest.raises(VapidRejected) as rejected:
        verify_authorization(mangle(header))  # type: ignore[operator]
    assert rejected.value.status == 401


def test_generated_keys_are_a_p256_pair_in_base64url() -> None:
    private, public = generate_vapid_keys()
    key = load_vapid_private_key(private)
    assert len(b64url_decode(public)) == 65
    assert b64url_encode(public_key_bytes(key)) == public
    assert private_key_text(key) == private


@pytest.mark.parametrize(
    ("encoding", "fmt"),
    [
        (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
        (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8),
    ],
)
def test_private_key_is_read_from_pem_and_der(
    encoding: serialization.Encoding, fmt: serialization.PrivateFormat
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_bytes(encoding, fmt, serialization.NoEncryption())
    text = raw.decode() if encoding is serialization.Encoding.PEM else b64url_encode(raw)
    assert load_vapid_private_key(text).private_numbers() == key.private_numbers()


def test_unusable_private_keys_are_refused() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for text in ("not a key!", b64url_encode(b"short"), p384.decode()):
        with pytest.raises(VapidKeyError):
            load_vapid_private_key(text)


def test_subject_must_be_mailto_or_https() -> None:
    assert validate_subject("https://shop.example.com/contact")
    for bad in ("ops@example.com", "http://shop.example.com", "mailto:"):
        with pytest.raises(ValueError):
            validate_subject(bad)
