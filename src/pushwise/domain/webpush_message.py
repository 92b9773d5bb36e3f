"""Render a notification for Web Push: the JSON the service worker receives, and RFC 8030 headers.

The service worker's `push` event gets the decrypted JSON (`event.data.json()`)
and decides how to show it, so the payload carries the content fields by name
(`title`, `body`, `data`, `url`, `image`, `badge`, plus `tag` for collapsing)
and any extra options from the notification's `webpush` section (`icon`,
`actions`, `requireInteraction`, ...). `urgency` and `topic` in that section
become headers instead.

Limits: the plaintext must fit one 4096-byte `aes128gcm` record, i.e. at most
3993 bytes; `TTL` is required (RFC 8030 section 5.2); `Urgency` is one of four
words (section 5.3); `Topic` is at most 32 characters of the URL-safe base64
alphabet (section 5.4).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from pushwise.domain.notification import Content, NotificationSpec

# 4096-byte record - 86-byte header (salt, rs, idlen, sender key) - 1 delimiter - 16-byte tag.
MAX_PAYLOAD_BYTES = 3993
MAX_TOPIC_CHARS = 32
URGENCIES = ("very-low", "low", "normal", "high")
# Without an expiry, keep the message as long as the big push services allow (FCM: 28 days).
DEFAULT_TTL_S = 28 * 24 * 3600
HEADER_OPTIONS = frozenset({"urgency", "topic"})
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")


class InvalidWebPushMessage(ValueError):
    """The notification cannot be sent as Web Push; `reason` becomes the outcome's reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WebPushMessage:
    plaintext: bytes
    headers: dict[str, str]


def render_payload(spec: NotificationSpec, content: Content | None = None) -> dict[str, Any]:
    content = content or spec.content
    payload: dict[str, Any] = {
        key: value
        for key, value in (
            ("title", content.title),
            ("body", content.body),
            ("url", content.url),
            ("image", content.image),
            ("badge", content.badge),
        )
        if value is not None
    }
    if content.data:
        payload["data"] = content.data
    if spec.collapse_key:
        # A shown notification with the same tag is replaced, like an APNs collapse id.
        payload["tag"] = spec.collapse_key
    payload.update({k: v for k, v in spec.webpush.items() if k not in HEADER_OPTIONS})
    return payload


def render_headers(spec: NotificationSpec, *, expires_at: float | None, now: float) -> dict[str, str]:
    headers = {
        "ttl": str(ttl_seconds(spec, expires_at=expires_at, now=now)),
        "urgency": _urgency(spec),
        "content-encoding": "aes128gcm",
        "content-type": "application/octet-stream",
    }
    topic = _topic(spec)
    if topic:
        headers["topic"] = topic
    return headers


def render(
    spec: NotificationSpec, *, expires_at: float | None, now: float, content: Content | None = None
) -> WebPushMessage:
    plaintext = orjson.dumps(render_payload(spec, content))
    if len(plaintext) > MAX_PAYLOAD_BYTES:
        raise InvalidWebPushMessage(
            "PayloadTooLarge", f"payload is {len(plaintext)} bytes; Web Push allows {MAX_PAYLOAD_BYTES}"
        )
    return WebPushMessage(plaintext, render_headers(spec, expires_at=expires_at, now=now))


def ttl_seconds(spec: NotificationSpec, *, expires_at: float | None, now: float) -> int:
    """Seconds the push service may hold the message: what is left until the delivery expires."""
    if expires_at is not None:
        return max(0, math.ceil(expires_at - now))
    return spec.ttl_seconds if spec.ttl_seconds is not None else DEFAULT_TTL_S


def is_valid_topic(topic: str) -> bool:
    return _TOPIC.fullmatch(topic) is not None


def topic_for_collapse_key(collapse_key: str) -> str:
    """A collapse key that is not a valid Topic is hashed into one, so equal keys still collapse."""
    if is_valid_topic(collapse_key):
        return collapse_key
    digest = hashlib.sha256(collapse_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:MAX_TOPIC_CHARS]


def _urgency(spec: NotificationSpec) -> str:
    urgency = spec.webpush.get("urgency")
    if urgency is None:
        return "high" if spec.priority == "transactional" else "normal"
    if urgency not in URGENCIES:
        raise InvalidWebPushMessage("InvalidUrgency", f"urgency must be one of {', '.join(URGENCIES)}")
    return str(urgency)


def _topic(spec: NotificationSpec) -> str | None:
    topic = spec.webpush.get("topic")
    if topic is None:
        return topic_for_collapse_key(spec.collapse_key) if spec.collapse_key else None
    if not isinstance(topic, str) or not is_valid_topic(topic):
        raise InvalidWebPushMessage(
            "InvalidTopic", f"topic must be 1-{MAX_TOPIC_CHARS} characters of A-Z a-z 0-9 - _"
        )
    return topic
