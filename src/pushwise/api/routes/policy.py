"""`/v1/apps/{app_id}/policy`: the app's sending policy: Android route order, the phone makers'
marketing quotas (their published rules, overridable per app) and the gate's rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep
from pushwise.api.schemas.policy import PolicyIn, PolicyOut
from pushwise.domain.china.routes import DEFAULT_ROUTES
from pushwise.domain.gate.policy import document_of, policy_of

router = APIRouter(prefix="/v1/apps/{app_id}/policy", tags=["policy"])


def _shown(stored: dict[str, Any]) -> PolicyOut:
    routes = stored.get("android_routes") or list(DEFAULT_ROUTES)
    return PolicyOut(android_routes=list(routes), **document_of(policy_of(stored)))


@router.put("")
async def put_policy(body: PolicyIn, app: ManagedApp, services: ServicesDep, audit: Audit) -> PolicyOut:
    """The whole policy: parts left out take their defaults, parts given as null are off."""
    stored = await services.engine.policies.put(app.id, body.document())
    await audit.record("policy.configure", app.id)
    return _shown(stored)


@router.get("")
async def get_policy(app: ManagedApp, services: ServicesDep) -> PolicyOut:
    """The policy with every default filled in."""
    return _shown(await services.engine.policies.get(app.id))
