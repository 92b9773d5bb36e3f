"""Render a notification into an FCM HTTP v1 `messages:send` request body.

Source: Firebase, "REST Resource: projects.messages" (the `Message` object with its
`android`, `apns`, `webpush` and `fcm_options` blocks). Limits enforced before
sending, because FCM would only answer INVALID_ARGUMENT:

- payload at most 4096 bytes. FCM does not publish its exact counting rule, so we
  count conservatively: the compact JSON of the whole `message` object *without*
  its `token` (the address is not payload) — notification, data and every
  platform block. The simulator applies the same rule.
- `data` values must be strings: non-strings are JSON-encoded rather than refused,
  so a number or a nested object arrives as its JSON text.
- TTL 0..2,419,200 s (four weeks), sent as a duration string `"<seconds>s"`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from pushwise.domain.notification import Content, NotificationSpec

MAX_PAYLOAD_BYTES = 4096
MAX_TTL_SECONDS = 2_419_200
# FCM refuses these data keys: they collide with its own message fields.
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type"})
RESERVED_DATA_PREFIXES = ("google", "gcm")
# Targeting is pushwise's job; an override must not redirect a delivery.
_TARGET_FIELDS = frozenset({"token", "topic", "condition"})
_ANALYTICS_LABEL = re.compile(r"[a-zA-Z0-9\-_.~%]{1,50}")
_HIGH_PRIORITIES = frozenset({"transactional", "high"})


class FcmMessageRejected(ValueError):
    """The message breaks an FCM rule; sending would only earn INVALID_ARGUMENT.

    `reason` is the outcome reason the provider reports (PERMANENT failure).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class PayloadTooLarge(FcmMessageRejected):
    """Over 4096 bytes: the engine can retry with the notification's fallback content."""

    def __init__(self, size: int) -> None:
        super().__init__("PayloadTooLarge", f"payload is {size} bytes; FCM allows {MAX_PAYLOAD_BYTES}")
        self.size = size


def render_fcm(
    spec: NotificationSpec,
    token: str,
    *,
    now: float,
    expires_at: float | None,
    content: Content | None = None,
) -> bytes:
    """The JSON request body `{"message": {...}}` for one device token."""
    ttl_seconds = ttl_for(spec, expires_at, now)
    return addressed(
        render_unaddressed(spec, ttl_seconds=ttl_seconds, expires_at=expires_at, content=content), token
    )


def render_unaddressed(
    spec: NotificationSpec,
    *,
    ttl_seconds: int | None,
    expires_at: float | None,
    content: Content | None = None,
) -> bytes:
    """The `message` object's JSON without a token, checked against the payload limit.

    Everything but the token is the same for every device of a notification, so a
    provider renders this once per notification and TTL and only `addressed` per device.
    """
    message = render_message(spec, ttl_seconds=ttl_seconds, expires_at=expires_at, content=content)
    encoded = orjson.dumps(message)  # render_message leaves out the targeting fields: this is the payload
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(len(encoded))
    return encoded


def addressed(unaddressed: bytes, token: str) -> bytes:
    """The request body for one device: `{"message": {"token": ..., <unaddressed>}}`.

    Spliced as bytes, exactly what encoding the whole dict would give, so the
    message is not encoded again for every device.
    """
    rest = b"," + unaddressed[1:] if len(unaddressed) > 2 else b"}"
    return b'{"message":{"token":' + orjson.dumps(token) + rest + b"}"


def payload_size(message: Mapping[str, Any]) -> int:
    """What counts against the 4096-byte limit: the message's compact JSON without its token."""
    return len(orjson.dumps({k: v for k, v in message.items() if k not in _TARGET_FIELDS}))


def ttl_for(spec: NotificationSpec, expires_at: float | None, now: float) -> int | None:
    """Seconds FCM should keep trying: what is left until the delivery expires, else the spec's TTL.

    An explicit TTL outside FCM's range is refused; time left is clamped into it,
    because the engine expires the delivery itself when its time is up.
    """
    if spec.ttl_seconds is not None and not 0 <= spec.ttl_seconds <= MAX_TTL_SECONDS:
        raise FcmMessageRejected("InvalidTtl", f"ttl_seconds must be within 0..{MAX_TTL_SECONDS}")
    if expires_at is not None:
        return min(MAX_TTL_SECONDS, max(0, math.ceil(expires_at - now)))
    return spec.ttl_seconds


def render_message(
    spec: NotificationSpec,
    *,
    ttl_seconds: int | None,
    expires_at: float | None,
    content: Content | None = None,
) -> dict[str, Any]:
    """The `message` object without its token, with `spec.fcm` overrides merged in."""
    content = content or spec.content
    high = spec.priority in _HIGH_PRIORITIES
    message: dict[str, Any] = {}
    notification = _present(title=content.title, body=content.body, image=content.image)
    if notification:
        message["notification"] = notification
    data = dict(content.data)
    if content.url:
        data.setdefault("url", content.url)
    if data:
        message["data"] = data
    message["android"] = _android(spec, content, ttl_seconds, high)
    apns = _apns(spec, content, expires_at)
    if apns:
        message["apns"] = apns
    message["webpush"] = _webpush(content, ttl_seconds, high)
    if spec.category and _ANALYTICS_LABEL.fullmatch(spec.category):
        message["fcm_options"] = {"analytics_label": spec.category}
    if spec.fcm:
        message = _merged(message, {k: v for k, v in spec.fcm.items() if k not in _TARGET_FIELDS})
    if "data" in message:
        message["data"] = string_data(message["data"])
    return message


def string_data(data: Mapping[str, Any]) -> dict[str, str]:
    """FCM `data` maps strings to strings: other values travel as their JSON text."""
    result: dict[str, str] = {}
    for key, value in data.items():
        key = str(key)
        if key in RESERVED_DATA_KEYS or key.lower().startswith(RESERVED_DATA_PREFIXES):
            raise FcmMessageRejected("InvalidDataKey", f"FCM reserves the data key {key!r}")
        result[key] = value if isinstance(value, str) else orjson.dumps(value).decode()
    return result


def _android(spec: NotificationSpec, content: Content, ttl_seconds: int | None, high: bool) -> dict[str, Any]:
    android: dict[str, Any] = {"priority": "HIGH" if high else "NORMAL"}
    if ttl_seconds is not None:
        android["ttl"] = f"{ttl_seconds}s"
    if spec.collapse_key:
        android["collapse_key"] = spec.collapse_key
    # click_action names an Android intent filter, which pushwise cannot guess: it is set
    # through `spec.fcm["android"]["notification"]["click_action"]` only.
    notification = _present(sound=content.sound, notification_count=content.badge)
    if notification:
        android["notification"] = notification
    return android


def _apns(spec: NotificationSpec, content: Content, expires_at: float | None) -> dict[str, Any]:
    """What FCM forwards to APNs for iOS devices registered through FCM."""
    headers: dict[str, str] = {}
    if expires_at is not None:
        headers["apns-expiration"] = str(int(expires_at))
    if spec.collapse_key:
        headers["apns-collapse-id"] = spec.collapse_key
    aps: dict[str, Any] = _present(sound=content.sound, badge=content.badge)
    if content.image:
        aps["mutable-content"] = 1  # lets the app's service extension download the image
    apns: dict[str, Any] = {}
    if headers:
        apns["headers"] = headers
    if aps:
        apns["payload"] = {"aps": aps}
    return apns


def _webpush(content: Content, ttl_seconds: int | None, high: bool) -> dict[str, Any]:
    headers = {"Urgency": "high" if high else "normal"}
    if ttl_seconds is not None:
        headers["TTL"] = str(ttl_seconds)
    webpush: dict[str, Any] = {"headers": headers}
    if content.url and content.url.startswith("https://"):
        webpush["fcm_options"] = {"link": content.url}  # FCM accepts only HTTPS links here
    return webpush


def _present(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def _merged(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: an override dict refines the rendered block instead of replacing it."""
    result = dict(base)
    for key, value in overrides.items():
        current = result.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            result[key] = _merged(current, value)
        else:
            result[key] = value
    return result
