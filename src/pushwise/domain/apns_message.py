"""Render a notification into an APNs request: JSON payload and headers.

Limits come from Apple's "Sending notification requests to APNs": payload at most
4096 bytes (5120 for VoIP), `apns-collapse-id` at most 64 bytes, `apns-expiration`
an epoch in seconds (0 = try once), `apns-priority` 10, 5 or 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pushwise.domain.notification import Content, NotificationSpec

MAX_PAYLOAD_BYTES = 4096
MAX_VOIP_PAYLOAD_BYTES = 5120
MAX_COLLAPSE_ID_BYTES = 64
PUSH_TYPES = frozenset(
    {
        "alert",
        "background",
        "location",
        "voip",
        "complication",
        "fileprovider",
        "mdm",
        "liveactivity",
        "pushtotalk",
        "widgets",
    }
)
_APNS_ID_PREFIX = "6f1c4d2e-9a57-4b8e"


@dataclass(frozen=True, slots=True)
class ApnsMessage:
    payload: bytes
    headers: dict[str, str]


class PayloadTooLarge(ValueError):
    """The rendered payload exceeds APNs' limit; sending would only earn a 413."""


def payload_limit(push_type: str) -> int:
    return MAX_VOIP_PAYLOAD_BYTES if push_type == "voip" else MAX_PAYLOAD_BYTES


def apns_id_for(delivery_id: int) -> str:
    """A stable apns-id per delivery, so a retried send carries the same id.

    The delivery id fills the last 64 bits of a fixed UUID: as unique as the id,
    and formatting it costs a fraction of hashing (this runs once per send).
    """
    return f"{_APNS_ID_PREFIX}-{(delivery_id >> 48) & 0xFFFF:04x}-{delivery_id & 0xFFFF_FFFF_FFFF:012x}"


def render_payload(spec: NotificationSpec, content: Content | None = None) -> dict[str, Any]:
    content = content or spec.content
    aps: dict[str, Any] = {}
    alert = {
        k: v
        for k, v in (("title", content.title), ("subtitle", content.subtitle), ("body", content.body))
        if v
    }
    if alert:
        aps["alert"] = alert
    if content.sound:
        aps["sound"] = content.sound
    if content.badge is not None:
        aps["badge"] = content.badge
    if content.image:
        aps["mutable-content"] = 1
    if spec.apns.push_type == "background":
        aps = {"content-available": 1}
    if spec.category:
        aps["thread-id"] = spec.category
    payload: dict[str, Any] = dict(content.data)
    if content.url:
        payload.setdefault("url", content.url)
    if content.image:
        payload.setdefault("image", content.image)
    custom_aps = spec.apns.payload.get("aps")
    payload.update({k: v for k, v in spec.apns.payload.items() if k != "aps"})
    payload["aps"] = {**aps, **(custom_aps or {})}
    return payload


def render_headers(
    spec: NotificationSpec, *, topic: str, expires_at: float | None, delivery_id: int
) -> dict[str, str]:
    return {**shared_headers(spec, topic=topic, expires_at=expires_at), "apns-id": apns_id_for(delivery_id)}


def shared_headers(spec: NotificationSpec, *, topic: str, expires_at: float | None) -> dict[str, str]:
    """The headers every delivery of one notification shares (all but `apns-id`)."""
    push_type = spec.apns.push_type
    headers = {
        "apns-topic": _topic_for(topic, push_type),
        "apns-push-type": push_type,
        "apns-expiration": str(int(expires_at)) if expires_at is not None else "0",
    }
    priority = spec.apns.priority
    if priority is None:
        # Apple requires 5 for background pushes; 10 (immediate) is its default otherwise.
        priority = 5 if push_type == "background" else 10
    headers["apns-priority"] = str(priority)
    if spec.collapse_key:
        headers["apns-collapse-id"] = spec.collapse_key
    headers.update({k.lower(): v for k, v in spec.apns.headers.items()})
    return headers


def render(
    spec: NotificationSpec,
    *,
    topic: str,
    expires_at: float | None,
    delivery_id: int,
    content: Content | None = None,
) -> ApnsMessage:
    shared = render_shared(spec, topic=topic, expires_at=expires_at, content=content)
    return ApnsMessage(shared.payload, {**shared.headers, "apns-id": apns_id_for(delivery_id)})


def render_shared(
    spec: NotificationSpec, *, topic: str, expires_at: float | None, content: Content | None = None
) -> ApnsMessage:
    """Payload and shared headers: the same for every delivery of one notification."""
    body = orjson.dumps(render_payload(spec, content))
    if len(body) > payload_limit(spec.apns.push_type):
        raise PayloadTooLarge(
            f"payload is {len(body)} bytes; APNs allows {payload_limit(spec.apns.push_type)}"
        )
    return ApnsMessage(body, shared_headers(spec, topic=topic, expires_at=expires_at))


def _topic_for(bundle_id: str, push_type: str) -> str:
    """Apple wants a suffixed topic for some push types (e.g. `<bundle>.voip`)."""
    suffix = {
        "voip": ".voip",
        "complication": ".complication",
        "fileprovider": ".pushkit.fileprovider",
        "liveactivity": ".push-type.liveactivity",
        "pushtotalk": ".voip-ptt",
    }.get(push_type, "")
    return bundle_id if not suffix or bundle_id.endswith(suffix) else bundle_id + suffix
