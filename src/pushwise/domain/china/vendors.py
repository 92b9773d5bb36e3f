"""The five vendors, their message classes and their day.

Every vendor counts its daily marketing budget per calendar day in China
(Asia/Shanghai, UTC+8 all year), so "tomorrow" is the next Shanghai midnight
whatever the recipient's own time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

VENDORS = ("huawei", "honor", "xiaomi", "oppo", "vivo")
VENDOR_ZONE = ZoneInfo("Asia/Shanghai")


class VendorClass(StrEnum):
    """Since 2023 every vendor sorts a push into an unlimited service class or a capped marketing one."""

    SERVICE = "service"
    MARKETING = "marketing"


@dataclass(frozen=True, slots=True)
class MessageClass:
    """The class a push goes as, with the vendor's own fields for it (e.g. Huawei `category`).

    A service push needs its vendor fields (`SERVICE_FIELDS`); without them it goes as marketing.
    """

    vendor_class: VendorClass = VendorClass.MARKETING
    fields: dict[str, Any] = field(default_factory=dict)


MARKETING = MessageClass()

# The fields each vendor needs to accept a push as its service class (API.md, "Message classes").
SERVICE_FIELDS: dict[str, tuple[str, ...]] = {
    "huawei": ("category",),
    "honor": ("importance",),
    "xiaomi": ("channel_id",),
    "oppo": ("channel_id", "category", "notify_level"),
    "vivo": ("category",),
}


def is_vendor(channel: str) -> bool:
    return channel in VENDORS


def message_class(vendor: str, wanted: VendorClass, fields: dict[str, Any] | None) -> MessageClass:
    """The class a push can really go as: service only with every field that vendor requires."""
    if (
        wanted is VendorClass.SERVICE
        and fields is not None
        and all(fields.get(name) not in (None, "") for name in SERVICE_FIELDS[vendor])
    ):
        return MessageClass(VendorClass.SERVICE, dict(fields))
    return MARKETING


def vendor_day(now: float) -> str:
    """The vendors' calendar day of `now`, `YYYY-MM-DD` in Asia/Shanghai."""
    return datetime.fromtimestamp(now, UTC).astimezone(VENDOR_ZONE).date().isoformat()


def next_vendor_day(now: float) -> float:
    """The next 00:00 Asia/Shanghai strictly after `now`: when a spent daily quota is new again."""
    local = datetime.fromtimestamp(now, UTC).astimezone(VENDOR_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=VENDOR_ZONE)
    return midnight.timestamp()


@dataclass(frozen=True, slots=True)
class CategoryClass:
    """What an app category says about vendor classes (`vendor_class` and per-vendor fields)."""

    vendor_class: VendorClass = VendorClass.MARKETING
    vendors: dict[str, dict[str, Any]] = field(default_factory=dict)


def class_for(
    vendor: str, category: str | None, priority: str, categories: dict[str, CategoryClass]
) -> MessageClass:
    """The class a notification goes as to `vendor`.

    A category the app configured decides; a notification without one asks for the
    service class when it is transactional, but a service push needs the vendor's
    fields, which only a category carries, so until then it goes as marketing.
    """
    configured = categories.get(category) if category else None
    if configured is not None:
        return message_class(vendor, configured.vendor_class, configured.vendors.get(vendor))
    wanted = VendorClass.SERVICE if priority == "transactional" else VendorClass.MARKETING
    return message_class(vendor, wanted, None)


def category_class(config: Mapping[str, Any]) -> CategoryClass:
    """What a stored category's `config` says about vendor classes (marketing when it says nothing)."""
    wanted = VendorClass(config.get("vendor_class") or VendorClass.MARKETING)
    vendors = config.get("vendors") or {}
    return CategoryClass(wanted, {str(k): dict(v) for k, v in vendors.items() if isinstance(v, Mapping)})


def class_warnings(category: CategoryClass) -> list[str]:
    """Vendors a service-class category reaches only as marketing (no entry for them)."""
    if category.vendor_class is not VendorClass.SERVICE:
        return []
    return [
        f"no {vendor} entry: this service category goes to {vendor} as marketing and counts against its quota"
        for vendor in VENDORS
        if vendor not in category.vendors
    ]
