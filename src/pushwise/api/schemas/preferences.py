"""Shapes of an app's categories and a user's preferences (API.md, Audience)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictBool, model_validator

from pushwise.api.schemas.common import Strict
from pushwise.api.schemas.vendor_classes import VendorClassesIn
from pushwise.domain.audience.preferences import (
    CATEGORY_KEY,
    TIME_OF_DAY,
    Category,
    PreferenceChange,
    Preferences,
    QuietHours,
    check_channel,
    effective_choices,
)
from pushwise.domain.channels import DELIVERY_CHANNELS
from pushwise.domain.china.vendors import category_class, class_warnings

MAX_CATEGORIES = 200
MAX_LINK_SECONDS = 90 * 86_400
DEFAULT_LINK_SECONDS = 30 * 86_400

ChannelName = Annotated[str, AfterValidator(check_channel)]
CategoryKey = Annotated[str, Field(pattern=CATEGORY_KEY.pattern)]
TimeOfDay = Annotated[str, Field(pattern=TIME_OF_DAY.pattern, examples=["22:00"])]


class QuietHoursIn(Strict):
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _spans_time(self) -> QuietHoursIn:
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")
        return self


class QuietHoursOut(BaseModel):
    start: str
    end: str


class CategoryIn(Strict):
    key: CategoryKey
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    default: bool = Field(default=True, description="On for users who have not chosen.")
    channels: list[ChannelName] | None = Field(
        default=None,
        min_length=1,
        max_length=len(DELIVERY_CHANNELS),
        description="The channels that may carry this category; left out: every channel.",
    )
    quiet_hours: QuietHoursIn | None = Field(
        default=None,
        description="This category's own quiet hours (the gate), over the app's; null: this category "
        "never waits for quiet hours; left out: the app's. A user's own quiet hours still win.",
    )
    quiet_hours_transactional: bool = Field(
        default=False,
        description="Transactional messages of this category wait for quiet hours too (a shipping "
        "notice may; a one-time code must not, so the default is no).",
    )
    vendor_class: Literal["service", "marketing"] = Field(
        default="marketing",
        description="The phone makers' class in China: `service` (unlimited; needs each vendor's "
        "fields in `vendors`) or `marketing` (capped per device and day).",
    )
    vendors: VendorClassesIn | None = Field(
        default=None, description="Per vendor, the fields its service class needs (docs/china.md)."
    )

    def category(self) -> Category:
        channels = tuple(dict.fromkeys(self.channels)) if self.channels is not None else None
        config: dict[str, Any] = {
            "vendor_class": self.vendor_class,
            "vendors": self.vendors.fields() if self.vendors else {},
        }
        if "quiet_hours" in self.model_fields_set:
            hours = self.quiet_hours
            config["quiet_hours"] = {"start": hours.start, "end": hours.end} if hours is not None else None
        if self.quiet_hours_transactional:
            config["quiet_hours_transactional"] = True
        return Category(self.key, self.name, self.default, channels, self.description, config)


class CategoryOut(BaseModel):
    key: str
    name: str
    description: str | None
    default: bool
    channels: list[str] | None
    vendor_class: Literal["service", "marketing"] = "marketing"
    vendors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    warnings: list[str] = Field(
        default_factory=list, description="Vendors a service category reaches only as marketing."
    )
    quiet_hours: QuietHoursOut | Literal["app"] | None = Field(
        default="app", description="This category's quiet hours; `app`: the app's; null: never waits."
    )
    quiet_hours_transactional: bool = False

    @classmethod
    def of(cls, category: Category) -> CategoryOut:
        channels = list(category.channels) if category.channels is not None else None
        classes = category_class(category.config)
        hours = category.config.get("quiet_hours", "app")
        return cls(
            key=category.key,
            name=category.name,
            description=category.description,
            default=category.default_on,
            channels=channels,
            vendor_class=classes.vendor_class.value,
            vendors=classes.vendors,
            warnings=class_warnings(classes),
            quiet_hours=QuietHoursOut(**hours) if isinstance(hours, dict) else hours,
            quiet_hours_transactional=bool(category.config.get("quiet_hours_transactional", False)),
        )


class PreferencesIn(Strict):
    """A partial change: the cells given (null: back to the category's default), and, when
    given, the whole new list of unsubscribed channels and the new quiet hours (null: none)."""

    categories: dict[str, dict[str, StrictBool | None]] = Field(
        default_factory=dict, examples=[{"promotions": {"email": False}}]
    )
    unsubscribed: list[ChannelName] | None = Field(default=None, max_length=len(DELIVERY_CHANNELS))
    quiet_hours: QuietHoursIn | None = None

    def change(self) -> PreferenceChange:
        cells = {
            (key, channel): value
            for key, channels in self.categories.items()
            for channel, value in channels.items()
        }
        hours = QuietHours(self.quiet_hours.start, self.quiet_hours.end) if self.quiet_hours else None
        return PreferenceChange(
            cells=cells,
            unsubscribed=frozenset(self.unsubscribed) if self.unsubscribed is not None else None,
            quiet_hours=hours,
            sets_quiet_hours="quiet_hours" in self.model_fields_set,
        )


class PreferencesOut(BaseModel):
    categories: dict[str, dict[str, bool]] = Field(
        description="What the user gets per category and channel: their choice, else the category's default."
    )
    unsubscribed: list[str]
    quiet_hours: QuietHoursOut | None

    @classmethod
    def of(cls, categories: list[Category], preferences: Preferences) -> PreferencesOut:
        hours = preferences.quiet_hours
        return cls(
            categories=effective_choices(categories, preferences),
            unsubscribed=sorted(preferences.unsubscribed),
            quiet_hours=QuietHoursOut(start=hours.start, end=hours.end) if hours else None,
        )


class PreferenceLinkIn(Strict):
    ttl_seconds: int = Field(default=DEFAULT_LINK_SECONDS, ge=60, le=MAX_LINK_SECONDS)


class PreferenceLinkOut(BaseModel):
    url: str
    expires_at: datetime
