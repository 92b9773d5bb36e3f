"""`POST /v1/gate/explain`: what the gate would do with a notification to a user, and why."""

from __future__ import annotations

from fastapi import APIRouter

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import ApiError
from pushwise.api.routes.notifications import check_targeting, spec_of, template_version
from pushwise.api.schemas.common import when
from pushwise.api.schemas.gate import ExplainIn, ExplainOut, ExplainStep
from pushwise.delivery.gate import targeting_json
from pushwise.domain.gate import Defer, HoldOut, Merge, Send, Suppress

router = APIRouter(prefix="/v1/gate", tags=["gate"])

_DECISIONS = {Send: "send", Defer: "defer", Suppress: "suppress", HoldOut: "hold_out", Merge: "merge"}


@router.post("/explain")
async def explain(body: ExplainIn, principal: Server, services: ServicesDep, stores: StoresDep) -> ExplainOut:
    """The checks a delivery meets just before it is sent, with the state they would read; sends nothing."""
    app_id = principal.app_id_required
    user = await stores.users.get(app_id, body.user_id)
    if user is None:
        raise ApiError(404, "not_found", "no such user", "user_id")
    notification = body.notification
    spec = spec_of(notification, await template_version(notification, app_id, services, "notification."))
    await check_targeting(notification, app_id, services, "notification.")
    at = body.at.timestamp() if body.at is not None else services.clock.now()
    ttl = spec.ttl_seconds if spec.ttl_seconds is not None else services.settings.default_ttl_seconds
    found = await services.engine.gate.explain(app_id, user.id, body.device_id, spec, at, ttl)
    if found is None:
        raise ApiError(404, "not_found", "no such active device of this user", "device_id")
    decision = found.decision
    return ExplainOut(
        decision=_DECISIONS[type(decision)],  # type: ignore[arg-type]
        until=when(decision.until) if isinstance(decision, Defer) else None,
        reason=None if isinstance(decision, Send) else decision.reason,
        channel=found.channel,
        device_id=found.device_id,
        steps=[ExplainStep(check=s.check, result=s.result, detail=s.detail) for s in found.steps],  # type: ignore[arg-type]
        uplift=targeting_json(found.targeting) if found.targeting is not None else None,
    )
