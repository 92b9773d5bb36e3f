"""Shapes of `/v1/apps/{app_id}/policy`: Android route order and the gate's rules (API.md, "The gate").

A `PUT` replaces the whole policy: a part left out takes its default, a part given as
null is off (`quiet_hours`, `fatigue`, `digest`); `GET` shows every default filled in.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from pushwise.api.schemas.common import Strict, TimeZone
from pushwise.api.schemas.preferences import CategoryKey, ChannelName, TimeOfDay
from pushwise.domain.china.quotas import QuotaRefused, parse_hours
from pushwise.domain.china.routes import DEFAULT_ROUTES, RoutesRefused, checked_routes
from pushwise.domain.gate.policy import DAY

# The ledger keeps 31 days (`store/gate_ledger.py` prunes older rows): no window may look further.
MAX_WINDOW_SECONDS = int(30 * DAY)
TemplateKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]

_ROUTES_HELP = (
    "The order in which an Android installation's routes are tried: `vendor` (the phone maker's "
    "service) and `fcm`. A route not listed is not used for devices of an installation."
)


class CapIn(Strict):
    window_seconds: Annotated[int, Field(ge=60, le=MAX_WINDOW_SECONDS, examples=[86400])]
    max: Annotated[int, Field(ge=1, le=10_000)]
    category: CategoryKey | None = Field(
        default=None, description="Count only this category's notifications."
    )
    channel: ChannelName | None = Field(default=None, description="Count only this channel's pushes.")
    per_campaign: bool = Field(default=False, description="Count each campaign apart.")


class QuietWindowIn(Strict):
    start: TimeOfDay
    end: TimeOfDay
    spread_minutes: Annotated[int, Field(ge=0, le=240)] = 30

    @model_validator(mode="after")
    def _spans_time(self) -> QuietWindowIn:
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")
        return self


class FatigueIn(Strict):
    budget: Annotated[float, Field(gt=0, le=1000)] = 4.0
    half_life_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 48.0
    ignored_weight: Annotated[float, Field(ge=1, le=100)] = 2.0
    ignore_after: Annotated[int, Field(ge=1, le=1000)] = 3
    propensity_floor: Annotated[float, Field(ge=0, le=1)] = 0.5
    too_many_factor: Annotated[float, Field(gt=0, le=1)] = 0.5
    too_many_half_life_days: Annotated[float, Field(gt=0, le=365)] = 30.0


class DigestIn(Strict):
    window_seconds: Annotated[int, Field(ge=60, le=7 * 86_400)] = 3600
    max_priority: Literal["low", "normal"] = "normal"
    category: CategoryKey | None = None
    template: TemplateKey | None = Field(
        default=None, description="A template rendered with variables count, items and category."
    )


class SendTimeIn(Strict):
    prior_strength: Annotated[float, Field(ge=0, le=1000)] = 5.0
    spread_minutes: Annotated[int, Field(ge=0, le=60)] = 20


_QUOTAS_HELP = (
    "Per vendor, overrides of its published marketing quota (vendors grant some apps more): pushes "
    "per device and Shanghai day, and the Shanghai hours marketing may go (`null`: any time). `GET` "
    "shows every vendor's rule with these applied; the gate holds them (docs/gate.md)."
)
Vendor = Literal["huawei", "honor", "xiaomi", "oppo", "vivo"]


class VendorQuotaIn(Strict):
    marketing_per_device_day: Annotated[int, Field(ge=0, le=1000)] | None = None
    marketing_hours: str | None = Field(default=None, examples=["07:00-23:00"])

    @field_validator("marketing_hours")
    @classmethod
    def _hours(cls, hours: str | None) -> str | None:
        if hours is not None:
            try:
                parse_hours(hours)
            except QuotaRefused as refused:
                raise ValueError(str(refused)) from refused
        return hours


PositiveRate = Annotated[float, Field(gt=0, le=10_000_000)]


class PolicyIn(Strict):
    android_routes: list[str] = Field(default_factory=lambda: list(DEFAULT_ROUTES), description=_ROUTES_HELP)
    caps: list[CapIn] = Field(default_factory=list, max_length=20)
    cap_scope: Literal["user", "channel"] = Field(
        default="user", description="user: caps count across channels; channel: each channel apart."
    )
    min_gap_seconds: Annotated[int, Field(ge=0, le=MAX_WINDOW_SECONDS)] = 0
    duplicate_window_seconds: Annotated[int, Field(ge=0, le=MAX_WINDOW_SECONDS)] = 0
    quiet_hours: QuietWindowIn | None = None
    default_timezone: TimeZone = "UTC"
    fatigue: FatigueIn | None = None
    digest: DigestIn | None = None
    send_time: SendTimeIn = Field(default_factory=SendTimeIn)
    max_per_minute: dict[ChannelName, PositiveRate] = Field(
        default_factory=dict, description="App-wide sends per minute per channel, held by every worker."
    )
    vendor_quotas: dict[Vendor, VendorQuotaIn] = Field(default_factory=dict, description=_QUOTAS_HELP)

    @field_validator("android_routes")
    @classmethod
    def _known_routes(cls, routes: list[str]) -> list[str]:
        try:
            return list(checked_routes(routes))
        except RoutesRefused as refused:
            raise ValueError(str(refused)) from refused

    def document(self) -> dict[str, Any]:
        """What is stored: every part as given or defaulted; vendor quotas only as far as given
        (`marketing_hours: null` is not the same as leaving the published hours)."""
        stored = self.model_dump(exclude={"vendor_quotas"})
        stored["vendor_quotas"] = {
            vendor: quota.model_dump(exclude_unset=True) for vendor, quota in self.vendor_quotas.items()
        }
        return stored


class PolicyOut(BaseModel):
    android_routes: list[str]
    caps: list[dict[str, Any]]
    cap_scope: str
    min_gap_seconds: int
    duplicate_window_seconds: int
    quiet_hours: dict[str, Any] | None
    default_timezone: str
    fatigue: dict[str, Any] | None
    digest: dict[str, Any] | None
    send_time: dict[str, Any]
    max_per_minute: dict[str, float]
    vendor_quotas: dict[str, dict[str, Any]] = Field(
        description="Every vendor's marketing quota: its published rule or this app's."
    )
