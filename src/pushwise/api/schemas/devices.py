"""`/v1/devices`: registration (one or a batch), permission reports, lookup, removal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import ExternalId, Locale, Strict, TimeZone, at, when
from pushwise.domain.device_tokens import validate_device
from pushwise.domain.push_permission import Permission, shown_permission
from pushwise.store.devices import Device, DeviceRegistration

_PERMISSION_HELP = (
    "The OS notification permission as the client SDK reads it (iOS `authorizationStatus`, "
    "Android `areNotificationsEnabled`, browser `Notification.permission`): `denied` stops "
    "sending to the device, `granted` brings it back."
)

MAX_BATCH = 1000


class SubscriptionKeysIn(BaseModel):
    p256dh: Annotated[str, Field(min_length=1, max_length=200)]
    auth: Annotated[str, Field(min_length=1, max_length=100)]


class SubscriptionIn(BaseModel):
    """A browser's `PushSubscription.toJSON()`; extra members such as `expirationTime` are ignored."""

    endpoint: Annotated[str, Field(min_length=1, max_length=2048)]
    keys: SubscriptionKeysIn


class DeviceIn(BaseModel):
    """Extra members are ignored, so newer SDKs can send more than this server knows."""

    platform: Literal["ios", "android", "web"]
    token: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    subscription: SubscriptionIn | None = None
    user_id: ExternalId | None = Field(
        default=None, description="The app's user id; an unknown one is created."
    )
    timezone: TimeZone | None = None
    locale: Locale | None = None
    push_permission: Permission | None = Field(default=None, description=_PERMISSION_HELP)
    vendor: Literal["huawei", "honor", "xiaomi", "oppo", "vivo"] | None = Field(
        default=None,
        description="Android only: the phone maker's push service `token` belongs to; without it an "
        "Android token is FCM's.",
    )
    installation_id: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None,
        description="Devices sharing one are one app on one phone: a notification reaches one of them, "
        "in the app's `android_routes` order.",
    )


def registration_of(body: DeviceIn, *, allow_private: bool, tags: tuple[str, ...] = ()) -> DeviceRegistration:
    """What the store registers for a device body: the one conversion the API and `pushwise import
    devices` share (imports add `tags`). Raises `TokenRejected` for a token or subscription the
    provider would refuse."""
    subscription = body.subscription
    parts = (
        (subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth) if subscription else None
    )
    valid = validate_device(body.platform, body.token, parts, allow_private=allow_private, vendor=body.vendor)
    return DeviceRegistration(
        valid.platform,
        valid.token,
        valid.subscription,
        body.user_id,
        body.timezone,
        body.locale,
        body.push_permission,
        body.vendor,
        body.installation_id,
        tags=tags,
    )


class DevicePermissionIn(Strict):
    push_permission: Permission = Field(description=_PERMISSION_HELP)


class DeviceOut(BaseModel):
    id: str
    platform: str
    token: str
    user_id: str | None = Field(description="The user's external id.")
    active: bool
    deactivated_reason: str | None
    deactivated_at: datetime | None
    push_permission: Permission | None = Field(
        description="`denied` while the device is off for PermissionDenied, `granted` while it is "
        "sent to, null when it is off for another reason (its token died)."
    )
    last_seen_at: datetime | None
    timezone: str | None
    locale: str | None
    created_at: datetime
    updated_at: datetime
    vendor: str | None = None
    installation_id: str | None = None

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        return cls(
            id=device.id,
            platform=device.platform,
            token=device.token,
            user_id=device.user_external_id,
            active=device.active,
            deactivated_reason=device.deactivated_reason,
            deactivated_at=when(device.deactivated_at),
            push_permission=shown_permission(
                active=device.active, deactivated_reason=device.deactivated_reason
            ),
            last_seen_at=when(device.last_seen_at),
            timezone=device.timezone,
            locale=device.locale,
            created_at=at(device.created_at),
            updated_at=at(device.updated_at),
            vendor=device.vendor,
            installation_id=device.installation_id,
        )


class DeviceBatchIn(Strict):
    devices: list[DeviceIn] = Field(min_length=1, max_length=MAX_BATCH)


class DeviceBatchItem(BaseModel):
    id: str
    platform: str
    token: str
    created: bool


class DeviceBatchOut(BaseModel):
    items: list[DeviceBatchItem]
    created: int
    updated: int
