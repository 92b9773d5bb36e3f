"""`/v1/apps/{app_id}/policy`: the app's sending policy. Today it holds `android_routes`, the
order in which an installation's routes are tried; the gate adds its own fields here."""

from __future__ import annotations

from fastapi import APIRouter

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep
from pushwise.api.schemas.policy import PolicyIn, PolicyOut

router = APIRouter(prefix="/v1/apps/{app_id}/policy", tags=["policy"])


@router.put("")
async def put_policy(body: PolicyIn, app: ManagedApp, services: ServicesDep, audit: Audit) -> PolicyOut:
    stored = await services.engine.policies.put(app.id, body.model_dump())
    await audit.record("policy.configure", app.id)
    return PolicyOut(android_routes=stored["android_routes"])


@router.get("")
async def get_policy(app: ManagedApp, services: ServicesDep) -> PolicyOut:
    routes = (await services.engine.policies.routes_of([app.id]))[app.id]
    return PolicyOut(android_routes=list(routes))
