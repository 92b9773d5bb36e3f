"""`/v1/apps/{app_id}/policy`: the app's sending policy. Today it holds `android_routes`, the
order in which an installation's routes are tried, and `vendor_quotas`, the phone makers'
marketing quotas (their published rules, overridable per app), for the gate to hold; the gate
adds its own fields here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep
from pushwise.api.schemas.policy import PolicyIn, PolicyOut
from pushwise.domain.china.quotas import effective_quotas, quota_settings
from pushwise.domain.china.routes import DEFAULT_ROUTES

router = APIRouter(prefix="/v1/apps/{app_id}/policy", tags=["policy"])


@router.put("")
async def put_policy(body: PolicyIn, app: ManagedApp, services: ServicesDep, audit: Audit) -> PolicyOut:
    stored = await services.engine.policies.put(app.id, body.model_dump(exclude_unset=True))
    await audit.record("policy.configure", app.id)
    return _shown(stored)


@router.get("")
async def get_policy(app: ManagedApp, services: ServicesDep) -> PolicyOut:
    return _shown(await services.engine.policies.get(app.id))


def _shown(stored: dict[str, Any]) -> PolicyOut:
    """The stored document with every default filled in."""
    quotas = effective_quotas(stored.get("vendor_quotas") or {})
    return PolicyOut(
        android_routes=list(stored.get("android_routes") or DEFAULT_ROUTES),
        vendor_quotas=quota_settings(quotas),
    )
