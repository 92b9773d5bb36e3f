"""`/v1/notifications`: accept (202), status with counts, delivery listing, cancel."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, status

from pushwise.api.audit import Audit
from pushwise.api.auth import Principal, require_server
from pushwise.api.deps import StoresDep, get_services
from pushwise.api.errors import ApiError
from pushwise.api.routes.segments import invalid_rule, parsed
from pushwise.api.schemas.common import MAX_ROW_ID, row_id
from pushwise.api.schemas.notifications import (
    AcceptedOut,
    CancelOut,
    DeliveryOut,
    DeliveryPage,
    LastError,
    LocalTime,
    NotificationIn,
    NotificationOut,
    OptimizedTime,
    TrailStep,
)
from pushwise.bootstrap import Services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.audience.rules import RuleError
from pushwise.domain.notification import NotificationSpec
from pushwise.domain.payload_fit import oversize_problem
from pushwise.domain.states import PENDING_STATES, DeliveryState
from pushwise.store.notifications import IdempotencyConflict, SegmentTarget, Target, UnknownDevices
from pushwise.uplift import EXTRA, LearningUnavailable, require_learning
from pushwise.uplift.scorer import ModelNotFound, ModelNotReady

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

Server = Annotated[Principal, Depends(require_server)]
ServicesDep = Annotated[Services, Depends(get_services)]


def _when(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def spec_of(body: NotificationIn, version: int | None = None) -> NotificationSpec:
    raw = body.model_dump(exclude={"to", "send_at", "data"}, by_alias=True)
    raw["holdout_percent"] = body.effective_holdout()
    if isinstance(body.send_at, LocalTime):
        raw["send_local_time"] = body.send_at.local_time
    if isinstance(body.send_at, OptimizedTime):
        raw["optimize_within_hours"] = body.send_at.within_hours
    if body.template is not None:
        raw["content"] = {"data": body.data or {}}
        raw["template_version"] = version
    return NotificationSpec.from_dict(raw)


async def template_version(
    body: NotificationIn, app_id: str, services: Services, prefix: str = ""
) -> int | None:
    """The version a templated notification renders with: the current one when it is accepted."""
    if body.template is None:
        return None
    stored = await services.engine.templates.current(app_id, body.template)
    if stored is None:
        raise ApiError(
            422, "unknown_template", f"no template {body.template!r} in this app", f"{prefix}template"
        )
    if body.variants is not None and not stored.definition.get("variants"):
        raise ApiError(
            422, "template_without_variants", "the template defines no variants", f"{prefix}variants"
        )
    return stored.version


async def check_targeting(body: NotificationIn, app_id: str, services: Services, prefix: str = "") -> None:
    """A send targeted by an uplift model names a ready model of this app; with variants in mode
    `uplift`, one whose treatment arms are the template's variants (the arm it picks is sent)."""
    model_id = body.uplift_model
    if model_id is None:
        return
    field = f"{prefix}uplift.model" if body.uplift is not None else f"{prefix}variants.model"
    try:
        require_learning()
        _model, loaded = await services.uplift_scorer.ready(app_id, model_id)
    except LearningUnavailable as missing:
        raise ApiError(501, "uplift_unavailable", f"{missing} ({EXTRA})", field) from missing
    except ModelNotFound as missing:
        raise ApiError(422, "unknown_model", f"no uplift model {model_id!r} in this app", field) from missing
    except ModelNotReady as waiting:
        raise ApiError(409, "model_not_ready", str(waiting), field) from waiting
    if body.uplift is not None or body.template is None:
        return
    stored = await services.engine.templates.current(app_id, body.template)
    keys = {str(v.get("key")) for v in (stored.definition.get("variants") or [])} if stored else set()
    stray = [arm for arm in loaded.arms[1:] if arm not in keys]
    if stray:
        raise ApiError(
            422,
            "model_arms_not_variants",
            f"the model's arms {', '.join(stray)} are not variants of template {body.template!r}",
            field,
        )


def _refuse_oversize(spec: NotificationSpec) -> None:
    """Refuse at the API only what cannot be made to fit, instead of failing every delivery later.

    Oversized text is not refused: the engine sends `fallback.content` or a shortened
    version (`pushwise.domain.fallback_content`). What shortening text cannot fix
    (large `data`, `apns.payload`, `fcm` or `webpush` options) is refused here, naming
    the provider.
    """
    problem = oversize_problem(spec)
    if problem is not None:
        raise ApiError(
            422,
            "payload_too_large",
            f"{problem}, even with the text shortened; make data (or apns.payload, fcm, webpush "
            "options) smaller, or give fallback.content",
            "content",
        )


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=AcceptedOut)
async def accept_notification(
    body: NotificationIn,
    principal: Server,
    services: ServicesDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> AcceptedOut:
    return await accept(services, principal.app_id_required, body, idempotency_key)


async def accept(
    services: Services,
    app_id: str,
    body: NotificationIn,
    idempotency_key: str | None,
    *,
    campaign_id: str | None = None,
) -> AcceptedOut:
    """Acceptance of a valid body: the one path of `POST /v1/notifications`, Gorush's `/api/push`
    and campaigns (which name themselves in `campaign_id`)."""
    spec = spec_of(body, await template_version(body, app_id, services))
    await check_targeting(body, app_id, services)
    if campaign_id is not None:
        spec = replace(spec, campaign_id=campaign_id)
    _refuse_oversize(spec)
    send_at = body.send_at.timestamp() if isinstance(body.send_at, datetime) else None
    request_hash = (
        hashlib.sha256(orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()
        if idempotency_key
        else None
    )
    target = Target(tuple(body.to.user_ids), tuple(body.to.device_ids), body.to.all, _segment(body))
    try:
        accepted = await services.engine.accept(
            app_id, AcceptRequest(spec, target, send_at, idempotency_key, request_hash)
        )
    except IdempotencyConflict as error:
        raise ApiError(
            409, "idempotency_conflict", "this Idempotency-Key was already used with a different request body"
        ) from error
    except RuleError as error:
        raise invalid_rule(error) from error
    except UnknownDevices as error:
        raise ApiError(
            422,
            "unknown_device",
            f"no such device in this app: {', '.join(error.device_ids[:10])}",
            "to.device_ids",
        ) from error
    return AcceptedOut(id=accepted.id, status="accepted", recipients=accepted.recipients)


def _segment(body: NotificationIn) -> SegmentTarget | None:
    """`to.segment`, its rule checked here; saved segments are read when the notification is stored."""
    segment = body.to.segment
    if segment is None:
        return None
    if segment.rule is None:
        return SegmentTarget(segment_id=segment.id)
    return SegmentTarget(rule=parsed(segment.rule, "to.segment.rule"), rule_json=segment.rule)


@router.get("/{notification_id}", response_model=NotificationOut)
async def get_notification(
    notification_id: str, principal: Server, services: ServicesDep, stores: StoresDep
) -> NotificationOut:
    repository = services.engine.notifications
    found = await repository.get(principal.app_id_required, notification_id)
    if found is None:
        raise ApiError(404, "not_found", "no such notification")
    counts = await repository.counts(notification_id)
    return NotificationOut(
        id=found.id,
        status=_status(found.cancelled_at, counts),
        created_at=_when(found.created_at),  # type: ignore[arg-type]
        recipients=found.recipients,
        priority=found.priority,
        category=found.category,
        send_at=_when(found.send_at),
        expires_at=_when(found.expires_at),
        cancelled_at=_when(found.cancelled_at),
        counts=counts,
        feedback=await stores.feedback.of(found.app_id, "notification", found.id),
    )


# States the gate puts a delivery in; the delivery's `reason` is the gate's then.
_GATE_STATES = frozenset(
    s.value
    for s in (
        DeliveryState.DEFERRED,
        DeliveryState.SUPPRESSED,
        DeliveryState.HELD_OUT,
        DeliveryState.DIGESTED,
    )
)


def _status(cancelled_at: float | None, counts: dict[str, int]) -> str:
    pending = sum(counts[s.value] for s in PENDING_STATES)
    if cancelled_at is not None:
        return "cancelled" if pending == 0 else "cancelling"
    if pending == 0:
        return "completed"
    untouched = counts[DeliveryState.QUEUED.value] == sum(counts.values())
    return "accepted" if untouched else "sending"


@router.get("/{notification_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    notification_id: str,
    principal: Server,
    services: ServicesDep,
    state: Annotated[DeliveryState | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    include: Annotated[Literal["trail"] | None, Query(description="`trail`: each delivery's steps")] = None,
) -> DeliveryPage:
    repository = services.engine.notifications
    if await repository.get(principal.app_id_required, notification_id) is None:
        raise ApiError(404, "not_found", "no such notification")
    after = row_id(cursor) if cursor is not None else 0
    if after is None:
        raise ApiError(400, "invalid_cursor", "cursor must be a value returned as next_cursor", "cursor")
    rows = await repository.deliveries(
        principal.app_id_required,
        notification_id,
        state=state.value if state else None,
        after_id=after,
        limit=limit,
    )
    items = await delivery_items(services, rows, with_trail=include == "trail")
    return DeliveryPage(items=items, next_cursor=str(rows[-1].id) if len(rows) == limit else None)


@router.get("/{notification_id}/deliveries/{delivery_id}", response_model=DeliveryOut)
async def get_delivery(
    notification_id: str,
    delivery_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    principal: Server,
    services: ServicesDep,
) -> DeliveryOut:
    """One delivery with its full trail: accepted, every attempt, content and channel fallbacks."""
    rows = await services.engine.notifications.deliveries(
        principal.app_id_required, notification_id, state=None, after_id=delivery_id - 1, limit=1
    )
    if not rows or rows[0].id != delivery_id:
        raise ApiError(404, "not_found", "no such delivery of this notification")
    return (await delivery_items(services, rows, with_trail=True))[0]


async def delivery_items(services: Services, rows: list[Any], *, with_trail: bool) -> list[DeliveryOut]:
    trails: dict[int, list[TrailStep]] = {}
    if with_trail and rows:
        ids = [row.id for row in rows]
        attempts = await services.engine.notifications.attempts_of(ids)
        events = await services.engine.events.of_deliveries(ids)
        trails = {row.id: _trail(row, attempts.get(row.id, []), events.get(row.id, [])) for row in rows}
    return [
        DeliveryOut(
            id=str(row.id),
            device_id=row.device_id,
            user_id=row.user_external_id,
            channel=row.channel,
            state=row.state,
            attempts=row.attempts,
            last_error=LastError(reason=row.last_reason, provider_status=row.last_status)
            if row.last_reason
            else None,
            sent_at=_when(row.sent_at),
            outcome_at=_when(row.outcome_at),
            next_attempt_at=_when(row.due_at) if row.state == DeliveryState.RETRYING.value else None,
            deferred_until=_when(row.due_at) if row.state == DeliveryState.DEFERRED.value else None,
            reason=row.last_reason if row.state in _GATE_STATES else None,
            trail=trails.get(row.id) if with_trail else None,
        )
        for row in rows
    ]


def _trail(row: Any, attempts: list[Any], events: list[Any]) -> list[TrailStep]:
    steps = [TrailStep(at=_at(row.accepted_at), kind="accepted", detail={"channel": row.channel})]
    for attempt in attempts:
        detail = {"attempt": attempt.attempt, "outcome": attempt.outcome, "reason": attempt.reason}
        if attempt.provider_status is not None:
            detail["provider_status"] = attempt.provider_status
        if attempt.retry_at is not None:
            detail["retry_at"] = _at(attempt.retry_at).isoformat()
        steps.append(TrailStep(at=_at(attempt.at), kind="attempt", detail=detail))
    steps.extend(TrailStep(at=_at(event.at), kind=event.kind, detail=event.detail) for event in events)
    steps.sort(key=lambda step: step.at)  # stable: an attempt stays before the fallback it caused
    return steps


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@router.post("/{notification_id}/cancel", response_model=CancelOut)
async def cancel_notification(
    notification_id: str, principal: Server, services: ServicesDep, audit: Audit
) -> CancelOut:
    stopped = await services.engine.notifications.cancel(
        principal.app_id_required, notification_id, services.clock.now()
    )
    if stopped is None:
        raise ApiError(404, "not_found", "no such notification")
    await audit.record("notification.cancel", principal.app_id, notification_id)
    return CancelOut(id=notification_id, status="cancelled", cancelled=stopped)
