"""Validate device tokens and Web Push subscriptions before they are stored.

A malformed token can never be delivered to; refusing it at registration keeps
the device table clean and turns a later silent provider rejection into an
immediate, explainable 422.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec

from pushwise.domain.endpoints import EndpointRefused, parse_endpoint

Platform = Literal["ios", "android", "web"]

# Apple: "don't assume a token's length"; today 32 bytes, hex-encoded by clients.
APNS_TOKEN_MIN, APNS_TOKEN_MAX = 64, 200
# FCM registration tokens are ~150-200 characters of base64url plus ':'; bound generously.
FCM_TOKEN_MIN, FCM_TOKEN_MAX = 32, 4096
_HEX = re.compile(r"[0-9a-fA-F]+")
_FCM = re.compile(r"[A-Za-z0-9_:\-]+")
# Phone makers' tokens (Huawei ~130 characters, Xiaomi regIds ~64, vivo ~23): bound generously.
VENDOR_TOKEN_MAX = 512
_VENDOR = re.compile(r"[!-+\--~]+")  # printable ASCII without space and ','
_BASE64URL = re.compile(r"[A-Za-z0-9_\-]+={0,2}")
P256_POINT_BYTES = 65
AUTH_SECRET_BYTES = 16


class TokenRejected(ValueError):
    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class ValidDevice:
    platform: Platform
    token: str
    subscription: dict[str, Any] | None


def validate_device(
    platform: Platform,
    token: str | None,
    subscription: tuple[str, str, str] | None,
    *,
    allow_private: bool,
    vendor: str | None = None,
) -> ValidDevice:
    """`subscription` is (endpoint, p256dh, auth) for web; for web the token is the endpoint.

    `vendor` names the phone maker's push service an Android token belongs to (else it is FCM's).
    """
    if vendor is not None:
        if platform != "android":
            raise TokenRejected("invalid_vendor", "only android devices have a vendor", "vendor")
        if token is None or subscription is not None:
            raise TokenRejected("invalid_token", f"{vendor} devices need the service's token", "token")
        return ValidDevice(platform, vendor_token(token), None)
    if platform == "web":
        if subscription is None:
            raise TokenRejected("invalid_subscription", "web devices need a subscription", "subscription")
        endpoint, p256dh, auth = subscription
        if token is not None and token != endpoint:
            raise TokenRejected(
                "invalid_token", "for web devices the token is the subscription endpoint", "token"
            )
        return ValidDevice(
            platform, endpoint, web_subscription(endpoint, p256dh, auth, allow_private=allow_private)
        )
    if subscription is not None:
        raise TokenRejected("invalid_subscription", "only web devices have a subscription", "subscription")
    if token is None:
        raise TokenRejected("invalid_token", f"{platform} devices need a token", "token")
    return ValidDevice(platform, apns_token(token) if platform == "ios" else fcm_token(token), None)


def apns_token(token: str) -> str:
    """Lower-cased, so the same token registered in either case is one device."""
    if not (APNS_TOKEN_MIN <= len(token) <= APNS_TOKEN_MAX) or not _HEX.fullmatch(token) or len(token) % 2:
        raise TokenRejected(
            "invalid_token",
            f"an APNs token is {APNS_TOKEN_MIN}-{APNS_TOKEN_MAX} hexadecimal characters",
            "token",
        )
    return token.lower()


def fcm_token(token: str) -> str:
    if not (FCM_TOKEN_MIN <= len(token) <= FCM_TOKEN_MAX) or not _FCM.fullmatch(token):
        raise TokenRejected(
            "invalid_token",
            f"an FCM registration token is {FCM_TOKEN_MIN}-{FCM_TOKEN_MAX} characters of A-Z a-z 0-9 _ - :",
            "token",
        )
    return token


def vendor_token(token: str) -> str:
    """Huawei, Honor, Xiaomi, OPPO and vivo tokens (regIds) differ in shape; all are printable
    ASCII without spaces or commas (MiPush sends a batch as a comma list)."""
    if not (1 <= len(token) <= VENDOR_TOKEN_MAX) or not _VENDOR.fullmatch(token):
        raise TokenRejected(
            "invalid_token",
            f"a vendor token is 1-{VENDOR_TOKEN_MAX} printable ASCII characters without spaces or commas",
            "token",
        )
    return token


def web_subscription(endpoint: str, p256dh: str, auth: str, *, allow_private: bool) -> dict[str, Any]:
    try:
        parse_endpoint(endpoint, allow_private=allow_private)
    except EndpointRefused as error:
        raise TokenRejected(error.code, error.message, "subscription.endpoint") from error
    point = _base64url(p256dh, "subscription.keys.p256dh")
    if len(point) != P256_POINT_BYTES or point[0] != 4:
        raise TokenRejected(
            "invalid_subscription",
            "p256dh must be an uncompressed P-256 point (65 bytes)",
            "subscription.keys.p256dh",
        )
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as error:
        raise TokenRejected(
            "invalid_subscription", "p256dh is not a point on P-256", "subscription.keys.p256dh"
        ) from error
    secret = _base64url(auth, "subscription.keys.auth")
    if len(secret) != AUTH_SECRET_BYTES:
        raise TokenRejected("invalid_subscription", "auth must be 16 bytes", "subscription.keys.auth")
    return {"endpoint": endpoint, "keys": {"p256dh": _encode(point), "auth": _encode(secret)}}


def _base64url(value: str, field: str) -> bytes:
    if not _BASE64URL.fullmatch(value):
        raise TokenRejected("invalid_subscription", "must be base64url", field)
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as error:
        raise TokenRejected("invalid_subscription", "must be base64url", field) from error


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
