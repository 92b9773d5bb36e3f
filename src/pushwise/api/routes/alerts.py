"""`/v1/apps/{app_id}/alert-sinks`, `/alert-rules` and `/alerts`: where alerts go, when they fire, history."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep
from pushwise.api.errors import ApiError
from pushwise.bootstrap import Services
from pushwise.monitoring.rules import DEFAULT_RULES, RuleError, parse_rules
from pushwise.monitoring.sinks import SinkError, validate_sinks

router = APIRouter(prefix="/v1/apps/{app_id}", tags=["alerts"])

RulesBody = Body(
    description="Rules by `name`; a rule named like a default replaces it (`enabled: false` turns it off).",
    examples=[[{"name": "success_rate", "kind": "success_rate", "threshold": 0.9, "window_seconds": 60}]],
)
SinksBody = Body(
    examples=[
        [
            {"type": "webhook", "url": "https://hooks.example/alerts"},
            {"type": "email", "to": "oncall@example.com"},
        ]
    ]
)


@router.get("/alert-sinks")
async def get_sinks(app: ManagedApp, services: ServicesDep) -> list[dict[str, Any]]:
    return await services.monitoring.alerts.sinks(app.id)


@router.put("/alert-sinks")
async def put_sinks(
    app: ManagedApp, services: ServicesDep, audit: Audit, sinks: list[dict[str, Any]] = SinksBody
) -> list[dict[str, Any]]:
    try:
        valid = await validate_sinks(sinks, allow_private=services.settings.allow_private_endpoints)
    except SinkError as error:
        raise ApiError(422, error.code, error.message, error.field) from error
    await services.monitoring.alerts.put_sinks(app.id, valid, services.clock.now())
    await audit.record("alert_sinks.configure", app.id)
    return valid


async def _rules_view(app_id: str, services: Services) -> dict[str, Any]:
    effective = await services.monitoring.evaluator.rules_for(app_id)
    return {"rules": [r.to_dict() for r in effective], "defaults": [r.to_dict() for r in DEFAULT_RULES]}


@router.get("/alert-rules")
async def get_rules(app: ManagedApp, services: ServicesDep) -> dict[str, Any]:
    """The rules in force (defaults, the rules file, then this app's own) and the defaults."""
    return await _rules_view(app.id, services)


@router.put("/alert-rules")
async def put_rules(
    app: ManagedApp, services: ServicesDep, audit: Audit, rules: list[dict[str, Any]] = RulesBody
) -> dict[str, Any]:
    try:
        parsed = parse_rules(rules)
    except RuleError as error:
        raise ApiError(422, "invalid_rule", str(error), error.field) from error
    await services.monitoring.alerts.put_rules(app.id, [r.to_dict() for r in parsed], services.clock.now())
    await audit.record("alert_rules.configure", app.id)
    return await _rules_view(app.id, services)


@router.get("/alerts")
async def list_alerts(
    app: ManagedApp,
    services: ServicesDep,
    state: Literal["firing", "resolved"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """Firing alerts and history, newest first."""
    events = await services.monitoring.alerts.events(app_id=app.id, state=state, limit=limit)
    return {"items": [e.to_dict() for e in events]}
