"""`/v1/users/{external_id}`: profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import Email, Locale, Phone, Strict, TimeZone, at
from pushwise.api.schemas.devices import DeviceOut
from pushwise.store.devices import Device
from pushwise.store.users import User

Tag = Annotated[str, Field(min_length=1, max_length=64)]
MAX_TAGS = 200


class UserIn(Strict):
    """Fields left out keep their value; `null` clears one."""

    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZone | None = None
    locale: Locale | None = None
    attributes: dict[str, Any] | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {name: getattr(self, name) for name in self.model_fields_set}
        if "attributes" in changes:
            changes["attributes"] = changes["attributes"] or {}
        if "tags" in changes:
            changes["tags"] = list(dict.fromkeys(changes["tags"] or []))
        return changes


class UserOut(BaseModel):
    id: str
    external_id: str
    email: str | None
    phone: str | None
    timezone: str | None
    locale: str | None
    attributes: dict[str, Any]
    tags: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            external_id=user.external_id,
            email=user.email,
            phone=user.phone,
            timezone=user.timezone,
            locale=user.locale,
            attributes=user.attributes,
            tags=user.tags,
            created_at=at(user.created_at),
            updated_at=at(user.updated_at),
        )


class UserProfileOut(UserOut):
    devices: list[DeviceOut]
    preferences: dict[str, Any] = Field(default_factory=dict)
    engagement: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def profile(cls, user: User, devices: list[Device]) -> UserProfileOut:
        base = UserOut.of(user).model_dump()
        return cls(**base, devices=[DeviceOut.of(device) for device in devices])
