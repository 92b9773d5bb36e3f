"""`/v1/users/{external_id}`: profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from pushwise.api.schemas.common import Email, ExternalId, Locale, Phone, Strict, TimeZone, at, when
from pushwise.api.schemas.devices import DeviceOut
from pushwise.domain.audience.countries import check_country
from pushwise.store.devices import Device
from pushwise.store.profiles import LearnedProfile
from pushwise.store.users import User


def without_nul(value: Any) -> Any:
    """Refuse NUL (`\\u0000`) in any string, keys included: PostgreSQL's JSON operators cannot read
    a document holding one, so a single such user would break every segment rule on attributes."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("strings may not contain NUL (\\u0000)")
    if isinstance(value, dict):
        for key, item in value.items():
            without_nul(key)
            without_nul(item)
    elif isinstance(value, list):
        for item in value:
            without_nul(item)
    return value


Tag = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(without_nul)]
Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(check_country)]
MAX_TAGS = 200


class LocationIn(Strict):
    """Where the user is: the country drives calendars and, without a time zone, quiet hours."""

    country: Country | None = None
    region: Annotated[str, Field(max_length=100)] | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None


class UserIn(Strict):
    """Fields left out keep their value; `null` clears one (`"location": null` clears all of it)."""

    email: Email | None = None
    email_verified: bool | None = None
    phone: Phone | None = None
    timezone: TimeZone | None = None
    locale: Locale | None = None
    location: LocationIn | None = None
    attributes: Annotated[dict[str, Any], AfterValidator(without_nul)] | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {
            name: getattr(self, name) for name in self.model_fields_set if name != "location"
        }
        if "attributes" in changes:
            changes["attributes"] = changes["attributes"] or {}
        if "tags" in changes:
            changes["tags"] = list(dict.fromkeys(changes["tags"] or []))
        if changes.get("email_verified") is None:
            changes.pop("email_verified", None)
        if "location" in self.model_fields_set:
            location = self.location or LocationIn()
            changes.update({name: getattr(location, name) for name in LocationIn.model_fields})
        return changes


MAX_BATCH_USERS = 1000


class UserBatchItem(UserIn):
    external_id: ExternalId


class UsersBatchIn(Strict):
    """All or nothing: one bad user refuses the batch (its `field` names it, `users[7].timezone`)."""

    users: list[UserBatchItem] = Field(min_length=1, max_length=MAX_BATCH_USERS)

    def changes_by_user(self) -> dict[str, dict[str, Any]]:
        """A user named twice gets both entries' fields, the later entry winning where they overlap."""
        merged: dict[str, dict[str, Any]] = {}
        for user in self.users:
            changes = user.changes()
            changes.pop("external_id", None)
            merged.setdefault(user.external_id, {}).update(changes)
        return merged


class UsersBatchOut(BaseModel):
    upserted: int = Field(description="Distinct users created or updated.")


class LocationOut(BaseModel):
    country: str | None
    region: str | None
    city: str | None
    lat: float | None
    lon: float | None


class UserOut(BaseModel):
    id: str
    external_id: str
    email: str | None
    phone: str | None
    timezone: str | None
    locale: str | None
    email_verified: bool
    location: LocationOut
    attributes: dict[str, Any]
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    first_seen_at: datetime | None
    last_active_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            external_id=user.external_id,
            email=user.email,
            phone=user.phone,
            timezone=user.timezone,
            locale=user.locale,
            email_verified=user.email_verified,
            location=LocationOut(
                country=user.country, region=user.region, city=user.city, lat=user.lat, lon=user.lon
            ),
            attributes=user.attributes,
            tags=user.tags,
            created_at=at(user.created_at),
            updated_at=at(user.updated_at),
            first_seen_at=when(user.first_seen_at),
            last_active_at=when(user.last_active_at),
        )


class ReachabilityOut(BaseModel):
    active_devices: dict[str, int] = Field(description="Active devices per platform.")
    push_permission: str | None = Field(description="granted, denied, or null when unknown.")
    email: bool = Field(description="An address is known and the user has not unsubscribed from e-mail.")
    email_verified: bool
    unsubscribed: list[str] = Field(description="Channels the user unsubscribed from.")


class UserProfileOut(UserOut):
    devices: list[DeviceOut]
    preferences: dict[str, Any] = Field(default_factory=dict)
    engagement: dict[str, Any] = Field(
        default_factory=dict,
        description='{"7d"|"30d"|"all": {sent, delivered, opened, clicked, dismissed, converted, revenue}, '
        '"open_propensity": 0-1}',
    )
    interests: dict[str, float] = Field(
        default_factory=dict, description="Category -> affinity now (-1 to 1), strongest first."
    )
    reachability: ReachabilityOut | None = None

    @classmethod
    def profile(cls, user: User, devices: list[Device], learned: LearnedProfile) -> UserProfileOut:
        base = UserOut.of(user).model_dump()
        reach = learned.reachability
        return cls(
            **base,
            devices=[DeviceOut.of(device) for device in devices],
            engagement={**learned.engagement, "open_propensity": learned.open_propensity},
            interests=dict(learned.interests),
            reachability=ReachabilityOut(
                active_devices=dict(reach.active_devices),
                push_permission=reach.push_permission,
                email=reach.email,
                email_verified=reach.email_verified,
                unsubscribed=list(reach.unsubscribed),
            ),
        )
