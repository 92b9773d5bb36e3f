"""The five vendors' request bodies, per message class, within their limits.

Each `render_*` builds what is the same for every device of a notification (the
provider adds the tokens, up to 1,000 per request). Limits enforced before sending,
because the vendor would only refuse the whole batch:

- text: Xiaomi title < 50 and description < 128 characters, OPPO title 50 and content
  128, vivo title 40 and content 100. Text over a limit first asks the engine for the
  sender's own `fallback.content` (the outcome `PayloadTooLarge`, as for APNs); when
  there is none, or it is in use and still too long, the text is cut to the limit with
  an ellipsis.
- size: Huawei's and Honor's message at most 4096 bytes, Xiaomi's `payload` likewise;
  too large is `PayloadTooLarge`, and the engine walks its content ladder.
- TTL: what is left until the delivery expires, clamped to each vendor's range.

`collapse_key` becomes the vendor's notification id (the same id replaces the shown
notification), a stable number derived from the key.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from pushwise.domain.china.vendors import MessageClass, VendorClass
from pushwise.domain.fallback_content import ELLIPSIS
from pushwise.domain.notification import Content, NotificationSpec

MAX_BODY_BYTES = 4096
HUAWEI_MAX_TTL = 1_296_000  # 15 days
HUAWEI_DEFAULT_TTL = 86_400
XIAOMI_MAX_TTL_MS = {VendorClass.SERVICE: 10 * 86_400_000, VendorClass.MARKETING: 86_400_000}
OPPO_MAX_TTL = 10 * 86_400
VIVO_TTL_RANGE = (60, 86_400)
TEXT_LIMITS = {"xiaomi": (49, 127), "oppo": (50, 128), "vivo": (40, 100)}
OPEN_APP = 3  # Huawei/Honor click_action.type: open the app


class VendorMessageRejected(ValueError):
    """The message breaks a vendor rule; `reason` is the outcome reason (permanent)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class PayloadTooLarge(VendorMessageRejected):
    def __init__(self, detail: str) -> None:
        super().__init__("PayloadTooLarge", detail)


@dataclass(frozen=True, slots=True)
class VendorOptions:
    """What a provider's configuration adds to every message."""

    package_name: str | None = None  # Xiaomi `restricted_package_name`
    marketing_channel_id: str | None = None  # Xiaomi and OPPO: the channel marketing pushes use


def notify_id(collapse_key: str | None) -> int | None:
    """A stable id in 1..2^31-1 for a collapse key (the vendors' `notify_id` range)."""
    if not collapse_key:
        return None
    return zlib.crc32(collapse_key.encode()) % 2_147_483_646 + 1


def ttl_seconds(
    spec: NotificationSpec, expires_at: float | None, now: float, low: int, high: int
) -> int | None:
    if expires_at is not None:
        return min(high, max(low, math.ceil(expires_at - now)))
    if spec.ttl_seconds is not None:
        return min(high, max(low, spec.ttl_seconds))
    return None


def fitted_text(spec: NotificationSpec, vendor: str) -> tuple[str, str]:
    """Title and body within the vendor's character limits (see the module docstring)."""
    title_limit, body_limit = TEXT_LIMITS[vendor]
    content = spec.content
    title, body = content.title or "", content.body or ""
    if len(title) <= title_limit and len(body) <= body_limit:
        return title, body
    fallback = spec.fallback.content
    if fallback is not None and fallback != content:
        raise PayloadTooLarge(
            f"{vendor} allows a title of {title_limit} and a body of {body_limit} characters"
        )
    return _cut(title, title_limit), _cut(body, body_limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def data_of(content: Content) -> dict[str, Any]:
    data = dict(content.data)
    if content.url:
        data.setdefault("url", content.url)
    return data


def _present(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def _checked_size(vendor: str, message: Any) -> None:
    size = len(orjson.dumps(message))
    if size > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the {vendor} message is {size} bytes; at most {MAX_BODY_BYTES}")


def render_huawei(
    spec: NotificationSpec, klass: MessageClass, *, now: float, expires_at: float | None
) -> dict[str, Any]:
    """Push Kit v1 `message` without `token`: `android.category` and `importance` carry the class."""
    content = spec.content
    service = klass.vendor_class is VendorClass.SERVICE
    ttl = ttl_seconds(spec, expires_at, now, 1, HUAWEI_MAX_TTL) or HUAWEI_DEFAULT_TTL
    notification = _present(
        title=content.title,
        body=content.body,
        image=content.image,
        click_action={"type": OPEN_APP},
        importance="NORMAL" if service else "LOW",
        notify_id=notify_id(spec.collapse_key),
    )
    android = _present(
        category=klass.fields["category"] if service else "MARKETING",
        ttl=f"{ttl}s",
        notification=notification,
    )
    message: dict[str, Any] = {"android": android}
    data = data_of(content)
    if data:
        message["data"] = orjson.dumps(data).decode()
    _checked_size("huawei", message)
    return message


def render_honor(
    spec: NotificationSpec, klass: MessageClass, *, now: float, expires_at: float | None
) -> dict[str, Any]:
    """Honor's camelCase body without `token` (no `message` wrapper): `importance` carries the class."""
    content = spec.content
    service = klass.vendor_class is VendorClass.SERVICE
    ttl = ttl_seconds(spec, expires_at, now, 1, HUAWEI_MAX_TTL) or HUAWEI_DEFAULT_TTL
    notification = _present(
        title=content.title,
        body=content.body,
        image=content.image,
        clickAction={"type": OPEN_APP},
        importance=klass.fields["importance"] if service else "LOW",
        notifyId=notify_id(spec.collapse_key),
    )
    android: dict[str, Any] = {"ttl": f"{ttl}s", "notification": notification}
    data = data_of(content)
    if data:
        android["data"] = orjson.dumps(data).decode()
    body = {"android": android}
    _checked_size("honor", body)
    return body


def render_xiaomi(
    spec: NotificationSpec,
    klass: MessageClass,
    options: VendorOptions,
    *,
    now: float,
    expires_at: float | None,
) -> dict[str, str]:
    """MiPush v3 form fields without `registration_id`: `extra.channel_id` carries the class."""
    title, description = fitted_text(spec, "xiaomi")
    service = klass.vendor_class is VendorClass.SERVICE
    form = {
        "restricted_package_name": options.package_name or "",
        "title": title,
        "description": description,
        "pass_through": "0",
        "notify_type": "-1",
        "extra.notify_effect": "1",
    }
    ttl = ttl_seconds(spec, expires_at, now, 1, XIAOMI_MAX_TTL_MS[klass.vendor_class] // 1000)
    if ttl is not None:
        form["time_to_live"] = str(ttl * 1000)
    collapse = notify_id(spec.collapse_key)
    if collapse is not None:
        form["notify_id"] = str(collapse)
    channel = klass.fields.get("channel_id") if service else options.marketing_channel_id
    if channel:
        form["extra.channel_id"] = str(channel)
    if service:
        for name in ("template_id", "template_param"):
            if klass.fields.get(name):
                form[f"extra.{name}"] = _form_value(klass.fields[name])
    data = data_of(spec.content)
    if data:
        payload = orjson.dumps(data).decode()
        if len(payload.encode()) > MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"the xiaomi payload is {len(payload.encode())} bytes; at most {MAX_BODY_BYTES}"
            )
        form["payload"] = payload
    return form


def render_oppo(
    spec: NotificationSpec,
    klass: MessageClass,
    options: VendorOptions,
    *,
    now: float,
    expires_at: float | None,
) -> dict[str, Any]:
    """OPPO's `notification` object: `channel_id`, `category` and `notify_level` carry the class."""
    title, body = fitted_text(spec, "oppo")
    service = klass.vendor_class is VendorClass.SERVICE
    ttl = ttl_seconds(spec, expires_at, now, 1, OPPO_MAX_TTL)
    notification = _present(
        title=title,
        content=body,
        click_action_type=0,
        notify_id=notify_id(spec.collapse_key),
        off_line=True,
        off_line_ttl=ttl,
    )
    if service:
        notification.update(
            channel_id=str(klass.fields["channel_id"]),
            category=str(klass.fields["category"]),
            notify_level=int(klass.fields["notify_level"]),
        )
    elif options.marketing_channel_id:
        notification["channel_id"] = options.marketing_channel_id
    data = data_of(spec.content)
    if data:
        notification["action_parameters"] = orjson.dumps(data).decode()
    _checked_size("oppo", notification)
    return notification


def render_vivo(
    spec: NotificationSpec, klass: MessageClass, *, now: float, expires_at: float | None
) -> dict[str, Any]:
    """vivo's send body without `regId` and `requestId`: `classification` (1 service, 0 marketing)."""
    title, body = fitted_text(spec, "vivo")
    service = klass.vendor_class is VendorClass.SERVICE
    message = _present(
        title=title,
        content=body,
        notifyType=4,
        skipType=1,
        timeToLive=ttl_seconds(spec, expires_at, now, *VIVO_TTL_RANGE),
        classification=1 if service else 0,
        category=str(klass.fields["category"]) if service else None,
        notifyId=notify_id(spec.collapse_key),
        pushMode=0,
    )
    data = data_of(spec.content)
    if data:
        message["clientCustomMap"] = {str(k): _form_value(v) for k, v in data.items()}
    _checked_size("vivo", message)
    return message


def _form_value(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
