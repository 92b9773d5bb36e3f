"""`/v1/apps/{app_id}/policy`: the app's sending policy."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from pushwise.api.schemas.common import Strict
from pushwise.domain.china.quotas import QuotaRefused, parse_hours
from pushwise.domain.china.routes import DEFAULT_ROUTES, RoutesRefused, checked_routes

_ROUTES_HELP = (
    "The order in which an Android installation's routes are tried: `vendor` (the phone maker's "
    "service) and `fcm`. A route not listed is not used for devices of an installation."
)


_QUOTAS_HELP = (
    "Per vendor, overrides of its published marketing quota (vendors grant some apps more): pushes "
    "per device and Shanghai day, and the Shanghai hours marketing may go (`null`: any time). `GET` "
    "shows every vendor's rule with these applied. Recorded for the gate; the gate does not hold "
    "vendor quotas yet (docs/china.md)."
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


class PolicyIn(Strict):
    android_routes: list[str] = Field(default_factory=lambda: list(DEFAULT_ROUTES), description=_ROUTES_HELP)
    vendor_quotas: dict[Vendor, VendorQuotaIn] = Field(default_factory=dict, description=_QUOTAS_HELP)

    @field_validator("android_routes")
    @classmethod
    def _known_routes(cls, routes: list[str]) -> list[str]:
        try:
            return list(checked_routes(routes))
        except RoutesRefused as refused:
            raise ValueError(str(refused)) from refused


class PolicyOut(BaseModel):
    android_routes: list[str]
    vendor_quotas: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Every vendor's marketing quota: its published rule or this app's."
    )
