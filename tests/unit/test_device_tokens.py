"""Device token and Web Push subscription validation."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushwise.domain.device_tokens import TokenRejected, validate_device


def b64url(raw: bytes, *, padded: bool = False) -> str:
    encoded = base64.urlsafe_b64encode(raw).decode()
    return encoded if padded else encoded.rstrip("=")


def p256_point(seed: int = 7) -> bytes:
    key = ec.derive_private_key(seed, ec.SECP256R1())
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc123"


def rejection(
    platform: str,
    token: str | None,
    subscription: tuple[str, str, str] | None = None,
    *,
    allow_private: bool = False,
) -> TokenRejected:
    with pytest.raises(TokenRejected) as caught:
        validate_device(platform, token, subscription, allow_private=allow_private)  # type: ignore[arg-type]
    return caught.value


def test_apns_tokens_are_hex_and_lower_cased() -> None:
    valid = validate_device("ios", "AB" * 32, None, allow_private=False)
    assert (valid.platform, valid.token, valid.subscription) == ("ios", "ab" * 32, None)
    assert validate_device("ios", "ab" * 100, None, allow_private=False).token == "ab" * 100


@pytest.mark.parametrize("token", ["ab" * 31, "ab" * 101, "zz" * 32, "a" * 65, "ab" * 31 + "a b"])
def test_malformed_apns_tokens_are_refused(token: str) -> None:
    error = rejection("ios", token)
    assert (error.code, error.field) == ("invalid_token", "token")


def test_fcm_tokens_allow_their_charset_and_refuse_others() -> None:
    token = "cK9xQ-3r_Z:APA91b" + "x" * 140
    assert validate_device("android", token, None, allow_private=False).token == token
    assert rejection("android", "short").code == "invalid_token"
    assert rejection("android", "a" * 40 + " ; drop").code == "invalid_token"
    assert rejection("android", None).code == "invalid_token"


def test_web_subscription_is_normalised_and_its_endpoint_is_the_token() -> None:
    point, auth = p256_point(), bytes(range(16))
    valid = validate_device(
        "web", None, (ENDPOINT, b64url(point, padded=True), b64url(auth)), allow_private=False
    )
    assert valid.token == ENDPOINT
    assert valid.subscription == {
        "endpoint": ENDPOINT,
        "keys": {"p256dh": b64url(point), "auth": b64url(auth)},
    }
    assert (
        validate_device("web", ENDPOINT, (ENDPOINT, b64url(point), b64url(auth)), allow_private=False).token
        == ENDPOINT
    )


def test_web_subscription_keys_are_checked() -> None:
    point, auth = b64url(p256_point()), b64url(bytes(16))
    not_on_curve = b64url(b"\x04" + bytes(64))
    cases = [
        ((ENDPOINT, b64url(b"\x04" + bytes(10)), auth), "subscription.keys.p256dh"),
        ((ENDPOINT, not_on_curve, auth), "subscription.keys.p256dh"),
        ((ENDPOINT, "not base64!", auth), "subscription.keys.p256dh"),
        ((ENDPOINT, point, b64url(bytes(15))), "subscription.keys.auth"),
    ]
    for subscription, field in cases:
        error = rejection("web", None, subscription)
        assert (error.code, error.field) == ("invalid_subscription", field)


def test_web_endpoint_follows_the_ssrf_rule() -> None:
    keys = (b64url(p256_point()), b64url(bytes(16)))
    error = rejection("web", None, ("https://127.0.0.1:8443/push", *keys))
    assert (error.code, error.field) == ("private_endpoint_refused", "subscription.endpoint")
    assert rejection("web", None, ("http://push.example.com/x", *keys)).code == "invalid_endpoint"
    allowed = validate_device("web", None, ("http://127.0.0.1:8443/push", *keys), allow_private=True)
    assert allowed.token == "http://127.0.0.1:8443/push"


def test_platform_and_subscription_must_agree() -> None:
    keys = (b64url(p256_point()), b64url(bytes(16)))
    assert rejection("web", None).field == "subscription"
    assert rejection("ios", "ab" * 32, (ENDPOINT, *keys)).field == "subscription"
    assert rejection("web", "https://other.example.com/x", (ENDPOINT, *keys)).field == "token"
