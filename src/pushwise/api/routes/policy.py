"""`/v1/apps/{app_id}/policy`: the app's sending policy. Today it holds `android_routes`, the
order in which an installation's routes are tried; the gate adds its own fields here."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep
from pushwise.api.schemas.common import Strict
from pushwise.domain.china.routes import DEFAULT_ROUTES, RoutesRefused, checked_routes

router = APIRouter(prefix="/v1/apps/{app_id}/policy", tags=["policy"])

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


@router.put("")
async def put_policy(body: PolicyIn, app: ManagedApp, services: ServicesDep, audit: Audit) -> PolicyOut:
    stored = await services.engine.policies.put(app.id, body.model_dump())
    await audit.record("policy.configure", app.id)
    return PolicyOut(android_routes=stored["android_routes"])


@router.get("")
async def get_policy(app: ManagedApp, services: ServicesDep) -> PolicyOut:
    routes = (await services.engine.policies.routes_of([app.id]))[app.id]
    return PolicyOut(android_routes=list(routes))
