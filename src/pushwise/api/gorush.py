"""One Gorush notification as the body of `POST /v1/notifications` (docs/gorush.md has the table).

Pure: the route supplies the clock's time and the app's APNs settings, and sends the body through
the API's own acceptance. What pushwise cannot do the Gorush way (topics, conditions, another APNs
environment or topic than the app's) is refused with a reason that the answer's `logs` carry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pushwise.api.schemas.gorush import GorushNotification
from pushwise.api.schemas.notifications import MAX_TTL_SECONDS

PLATFORMS = {1: "ios", 2: "android", 3: "huawei"}  # Gorush's numbering
CHANNELS = {"ios": "apns", "android": "fcm", "huawei": "huawei"}  # the provider each goes through
ONCE_SECONDS = 60  # APNs `expiration: 0`, "no stored copy": one short try
_ALERT_KEYS = ("title", "subtitle", "body")
# Live Activity and other `aps` members Gorush takes at the top level, by their `aps` name.
_APS_FIELDS = {
    "content_state": "content-state",
    "timestamp": "timestamp",
    "event": "event",
    "stale_date": "stale-date",
    "dismissal_date": "dismissal-date",
    "attributes_type": "attributes-type",
    "attributes": "attributes",
    "relevance_score": "relevance-score",
    "category": "category",
    "thread_id": "thread-id",
    "interruption_level": "interruption-level",
}


class Unmappable(Exception):
    """The notification asks for something pushwise does not do; the message says what."""


@dataclass(frozen=True, slots=True)
class ApnsSettings:
    """The app's configured APNs provider, which every iOS notification goes through."""

    topic: str
    environment: str  # production | development


def notification_body(
    gorush: GorushNotification, platform: str, *, now: float, apns: ApnsSettings | None
) -> dict[str, Any]:
    """The fields of a `POST /v1/notifications` body (all but `to`) for this Gorush notification."""
    if gorush.to or gorush.condition:
        raise Unmappable("'to' and 'condition' are not supported: pushwise sends to the tokens given")
    body: dict[str, Any] = {"content": _content(gorush)}
    if platform == "ios":
        _ios(gorush, body, now=now, apns=apns)
    elif platform == "android":
        _android(gorush, body)
    else:
        _huawei(gorush, body)
    return body


def _content(gorush: GorushNotification) -> dict[str, Any]:
    alert = gorush.alert
    content: dict[str, Any] = {
        "title": (alert.title if alert else None) or gorush.title,
        "subtitle": alert.subtitle if alert else None,
        "body": (alert.body if alert else None) or gorush.message,
        "data": gorush.data,
        "image": gorush.image,
        "badge": gorush.badge,
        "sound": gorush.sound if isinstance(gorush.sound, str) else None,
    }
    fcm_notification = gorush.notification or {}
    for key in ("title", "body", "image"):
        if content[key] is None and isinstance(fcm_notification.get(key), str):
            content[key] = fcm_notification[key]
    return {key: value for key, value in content.items() if value not in (None, {})}


def _ios(gorush: GorushNotification, body: dict[str, Any], *, now: float, apns: ApnsSettings | None) -> None:
    if apns is not None:
        wanted = "development" if gorush.development else "production" if gorush.production else None
        if wanted is not None and wanted != apns.environment:
            raise Unmappable(f"this app's APNs provider is configured for {apns.environment}, not {wanted}")
        if gorush.topic and not gorush.topic.startswith(apns.topic):
            raise Unmappable(f"pushwise sends with the app's APNs topic {apns.topic}, not {gorush.topic}")
    aps: dict[str, Any] = {
        aps_name: value
        for field_name, aps_name in _APS_FIELDS.items()
        if (value := getattr(gorush, field_name)) is not None
    }
    sound = _sound(gorush)
    if sound is not None:
        aps["sound"] = sound
    if gorush.mutable_content:
        aps["mutable-content"] = 1
    options: dict[str, Any] = {}
    visible = any(body["content"].get(key) for key in _ALERT_KEYS)
    if gorush.content_available:
        if visible:
            aps["content-available"] = 1
        elif not gorush.push_type:
            options["push_type"] = "background"
    if gorush.push_type:
        options["push_type"] = gorush.push_type
    if gorush.alert is not None and gorush.alert.model_extra:
        # Localisation keys and the like: `aps.alert` is replaced whole, so it carries the text too.
        text = {key: body["content"][key] for key in _ALERT_KEYS if body["content"].get(key)}
        aps["alert"] = {**text, **gorush.alert.model_extra}
    priority = _apns_priority(gorush.priority)
    if priority is not None:
        options["priority"] = priority
    extra = gorush.apns or {}
    payload = dict(extra.get("payload") or {})
    if aps:
        payload["aps"] = {**aps, **(payload.get("aps") or {})}
    if payload:
        options["payload"] = payload
    if extra.get("headers"):
        options["headers"] = extra["headers"]
    if options:
        body["apns"] = options
    if gorush.expiration is not None:
        body["ttl_seconds"] = _ttl_until(gorush.expiration, now)
    if gorush.collapse_id:
        body["collapse_key"] = gorush.collapse_id


def _android(gorush: GorushNotification, body: dict[str, Any]) -> None:
    android: dict[str, Any] = dict(gorush.android or {})
    notification = {
        k: v for k, v in (gorush.notification or {}).items() if k not in ("title", "body", "image")
    }
    if notification:
        android["notification"] = {**notification, **(android.get("notification") or {})}
    if gorush.priority in ("high", "normal"):
        android.setdefault("priority", gorush.priority.upper())
    if gorush.restricted_package_name:
        android.setdefault("restricted_package_name", gorush.restricted_package_name)
    fcm: dict[str, Any] = {}
    if android:
        fcm["android"] = android
    for name in ("webpush", "fcm_options"):
        value = getattr(gorush, name)
        if value:
            fcm[name] = value
    if fcm:
        body["fcm"] = fcm
    if gorush.time_to_live is not None:
        body["ttl_seconds"] = min(max(gorush.time_to_live, 0), MAX_TTL_SECONDS)
    if gorush.collapse_key:
        body["collapse_key"] = gorush.collapse_key


def _huawei(gorush: GorushNotification, body: dict[str, Any]) -> None:
    """Push Kit takes pushwise's content; `huawei_data` (a JSON object in a string) joins `data`."""
    if gorush.huawei_data:
        try:
            extra = json.loads(gorush.huawei_data)
        except json.JSONDecodeError:
            extra = None
        if not isinstance(extra, dict):
            raise Unmappable("huawei_data must be a JSON object in a string")
        body["content"]["data"] = {**body["content"].get("data", {}), **extra}
    ttl = gorush.huawei_ttl if gorush.huawei_ttl is not None else gorush.time_to_live
    if ttl is not None:
        seconds = int(str(ttl).removesuffix("s")) if str(ttl).removesuffix("s").isdigit() else None
        if seconds is None:
            raise Unmappable('huawei_ttl is seconds, such as "86400" or "86400s"')
        body["ttl_seconds"] = min(seconds, MAX_TTL_SECONDS)


def _sound(gorush: GorushNotification) -> str | dict[str, Any] | None:
    """Gorush's sound: a name, a `{name, critical, volume}` object, or `name` and `volume` beside it."""
    if isinstance(gorush.sound, dict):
        return gorush.sound
    if gorush.volume is not None:
        return {"name": gorush.name or gorush.sound or "default", "volume": gorush.volume}
    if gorush.name and not gorush.sound:
        return gorush.name
    return None  # a plain string sound is content.sound


def _apns_priority(priority: str | None) -> int | None:
    return {"high": 10, "normal": 5}.get(priority or "")


def _ttl_until(expiration: int, now: float) -> int:
    """APNs' `expiration` is a moment (0: deliver at once or never); pushwise keeps a notification
    for `ttl_seconds`, and a notification past it is never sent late."""
    if expiration == 0:
        return ONCE_SECONDS
    remaining = int(expiration - now)
    if remaining <= 0:
        raise Unmappable("expiration is in the past: the notification expired before it was sent")
    return min(remaining, MAX_TTL_SECONDS)
