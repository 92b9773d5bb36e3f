"""`/v1/apps/{app_id}/policy`: the app's sending policy."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from pushwise.api.schemas.common import Strict
from pushwise.domain.china.routes import DEFAULT_ROUTES, RoutesRefused, checked_routes

_ROUTES_HELP = (
    "The order in which an Android installation's routes are tried: `vendor` (the phone maker's "
    "service) and `fcm`. A route not listed is not used for devices of an installation."
)


class PolicyIn(Strict):
    android_routes: list[str] = Field(default_factory=lambda: list(DEFAULT_ROUTES), description=_ROUTES_HELP)

    @field_validator("android_routes")
    @classmethod
    def _known_routes(cls, routes: list[str]) -> list[str]:
        try:
            return list(checked_routes(routes))
        except RoutesRefused as refused:
            raise ValueError(str(refused)) from refused


class PolicyOut(BaseModel):
    android_routes: list[str]
