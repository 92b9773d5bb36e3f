"""`/v1/campaigns`: one-off, scheduled, recurring and journey campaigns (docs/campaigns.md).

Every notification body a campaign will send is validated when the campaign is created, with
the same rules as `POST /v1/notifications`, so a bad step is refused now, never found at
3 a.m. when the step runs. A campaign is active as soon as it is created.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import ValidationError

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, Stores, StoresDep
from pushwise.api.errors import ApiError, field_path, not_found
from pushwise.api.routes.notifications import check_targeting, delivery_items
from pushwise.api.schemas.campaigns import (
    AnalyticsOut,
    CampaignDeliveryOut,
    CampaignDeliveryPage,
    CampaignIn,
    CampaignOut,
)
from pushwise.api.schemas.common import at, when
from pushwise.api.schemas.notifications import NotificationIn
from pushwise.domain.campaigns.conditions import ConditionInvalid, profile_leaves
from pushwise.domain.campaigns.journeys import Branch, JourneyInvalid, Notify, Step, parse_journey
from pushwise.domain.campaigns.recipes import RecipeInvalid, recipe_journey
from pushwise.domain.campaigns.schedule import ScheduleInvalid, check_cron, local_time_of, next_run
from pushwise.store.campaign_analytics import as_day_rows, as_rows, campaign_analytics
from pushwise.store.campaigns import Campaign, campaign_deliveries

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])

CampaignPath = Annotated[str, Path(min_length=1, max_length=40)]


def _out(campaign: Campaign, feedback: Mapping[str, int]) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        kind=campaign.kind,
        status=campaign.status,
        definition=dict(campaign.definition),
        runs=campaign.runs,
        next_run_at=when(campaign.next_run_at),
        created_at=at(campaign.created_at),
        updated_at=at(campaign.updated_at),
        feedback=dict(feedback),
    )


def _check_body(body: dict[str, Any], path: str, *, with_to: bool) -> None:
    candidate = body if with_to else {**body, "to": {"user_ids": ["journey-user"]}}
    if not with_to and "to" in body:
        raise ApiError(
            422, "invalid_campaign", "a journey notifies its own user: leave 'to' out", f"{path}.to"
        )
    try:
        NotificationIn.model_validate(candidate)
    except ValidationError as error:
        first = error.errors()[0]
        inner = field_path(["body", *first["loc"]]) or ""
        raise ApiError(422, "invalid_campaign", str(first["msg"]), f"{path}.{inner}".rstrip(".")) from error


def _check_steps(steps: tuple[Step, ...], path: str) -> None:
    for index, one in enumerate(steps):
        here = f"{path}[{index}]"
        if isinstance(one, Notify):
            _check_body(dict(one.body), f"{here}.notify", with_to=False)
        elif isinstance(one, Branch):
            try:
                profile_leaves(one.rule, f"{here}.if")
            except ConditionInvalid as invalid:
                raise ApiError(422, "invalid_campaign", invalid.message, invalid.path) from invalid
            _check_steps(one.then, f"{here}.then")
            _check_steps(one.otherwise, f"{here}.else")


def _journey(body: CampaignIn) -> dict[str, Any]:
    if body.recipe is not None:
        try:
            return recipe_journey(body.recipe, body.options())
        except RecipeInvalid as invalid:
            raise ApiError(422, "invalid_campaign", invalid.message, invalid.path) from invalid
    return {
        "trigger": body.trigger,
        "steps": body.steps,
        "exit": body.exit,
        "reentry_seconds": body.reentry_seconds,
    }


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_campaign(body: CampaignIn, principal: Server, services: ServicesDep) -> CampaignOut:
    app_id, now = principal.app_id_required, services.clock.now()
    repository = services.engine.campaigns
    if body.notification is not None:
        notification = dict(body.notification)
        _check_body(notification, "notification", with_to=True)
        checked = NotificationIn.model_validate(notification)
        await check_targeting(checked, app_id, services, "notification.")
        definition: dict[str, Any] = {"notification": notification}
        if body.cron is not None:
            timezone = body.timezone or "UTC"
            try:
                check_cron(body.cron, timezone)
            except ScheduleInvalid as invalid:
                raise ApiError(422, "invalid_campaign", str(invalid), "cron") from invalid
            if timezone == "user":
                notification["send_at"] = {"local_time": local_time_of(body.cron)}
            definition |= {"cron": body.cron, "timezone": timezone}
            first = next_run(body.cron, timezone, now)
            campaign = await repository.create(
                app_id, body.name, "recurring", definition, now, next_run_at=first
            )
        else:
            send_at = notification.get("send_at")
            starts = (
                datetime.fromisoformat(send_at.replace("Z", "+00:00")).timestamp()
                if isinstance(send_at, str)
                else now
            )
            if isinstance(send_at, str):
                notification.pop("send_at")
            kind = "scheduled" if starts > now or isinstance(send_at, dict) else "one_off"
            campaign = await repository.create(
                app_id, body.name, kind, definition, now, next_run_at=max(starts, now)
            )
        return _out(campaign, {})  # nothing has answered it yet
    raw = _journey(body)
    try:
        journey = parse_journey(raw)
        if journey.where is not None:
            profile_leaves(journey.where, "trigger.where")
    except (JourneyInvalid, ConditionInvalid) as invalid:
        raise ApiError(422, "invalid_campaign", invalid.message, invalid.path) from invalid
    _check_steps(journey.steps, "steps")
    definition = {"journey": raw, **({"recipe": body.recipe} if body.recipe else {})}
    campaign = await repository.create(app_id, body.name, "journey", definition, now, trigger=journey.trigger)
    return _out(campaign, {})


@router.get("")
async def list_campaigns(principal: Server, services: ServicesDep, stores: StoresDep) -> list[CampaignOut]:
    app_id = principal.app_id_required
    feedback = await stores.feedback.by_key(app_id, "campaign")
    return [_out(c, feedback.get(c.id, {})) for c in await services.engine.campaigns.of_app(app_id)]


@router.get("/{campaign_id}")
async def get_campaign(
    campaign_id: CampaignPath, principal: Server, services: ServicesDep, stores: StoresDep
) -> CampaignOut:
    """The campaign, with `feedback`: the events answering its pushes, by type."""
    app_id = principal.app_id_required
    campaign = await services.engine.campaigns.get(app_id, campaign_id)
    if campaign is None:
        raise not_found("campaign")
    return _out(campaign, await stores.feedback.of(app_id, "campaign", campaign.id))


async def _set_status(
    campaign_id: str, status_: str, principal: Any, services: Any, stores: Stores
) -> CampaignOut:
    app_id = principal.app_id_required
    if not await services.engine.campaigns.set_status(app_id, campaign_id, status_, services.clock.now()):
        if await services.engine.campaigns.get(app_id, campaign_id) is None:
            raise not_found("campaign")
        raise ApiError(409, "campaign_finished", "a finished campaign cannot be paused or resumed")
    campaign = await services.engine.campaigns.get(app_id, campaign_id)
    return _out(campaign, await stores.feedback.of(app_id, "campaign", campaign_id))


@router.post("/{campaign_id}/pause")
async def pause_campaign(
    campaign_id: CampaignPath, principal: Server, services: ServicesDep, stores: StoresDep
) -> CampaignOut:
    """Paused: nothing is sent and journeys take no new users; runs already inside wait where they are."""
    return await _set_status(campaign_id, "paused", principal, services, stores)


@router.post("/{campaign_id}/resume")
async def resume_campaign(
    campaign_id: CampaignPath, principal: Server, services: ServicesDep, stores: StoresDep
) -> CampaignOut:
    return await _set_status(campaign_id, "active", principal, services, stores)


@router.get("/{campaign_id}/deliveries")
async def campaign_deliveries_page(
    campaign_id: CampaignPath,
    principal: Server,
    services: ServicesDep,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CampaignDeliveryPage:
    """The deliveries the campaign made, each with its notification, in the shape of a notification's."""
    app_id = principal.app_id_required
    if await services.engine.campaigns.get(app_id, campaign_id) is None:
        raise not_found("campaign")
    if cursor is not None and not cursor.isdigit():
        raise ApiError(400, "invalid_cursor", "cursor must be a value returned as next_cursor", "cursor")
    after = int(cursor or 0)
    rows = await services.db.query(lambda conn: campaign_deliveries(conn, app_id, campaign_id, after, limit))
    items = await delivery_items(services, rows, with_trail=False)
    return CampaignDeliveryPage(
        items=[
            CampaignDeliveryOut(**item.model_dump(), notification_id=row.notification_id)
            for item, row in zip(items, rows, strict=True)
        ],
        next_cursor=str(rows[-1].id) if len(rows) == limit else None,
    )


@router.get(
    "/{campaign_id}/analytics",
    response_model=AnalyticsOut,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "JSON, or CSV with `format=csv` (a row per arm, or with `by=day` per day and arm)",
        }
    },
)
async def analytics(
    campaign_id: CampaignPath,
    principal: Server,
    services: ServicesDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    by: Annotated[Literal["arm", "day"], Query(description="CSV rows per arm, or per day and arm")] = "arm",
) -> AnalyticsOut | Response:
    """The funnel per variant with 95% intervals, the holdout, uplift over it and the days (or CSV)."""
    if await services.engine.campaigns.get(principal.app_id_required, campaign_id) is None:
        raise not_found("campaign")
    found = await services.db.query(lambda conn: campaign_analytics(conn, campaign_id))
    if format == "csv":
        return Response(_csv(as_day_rows(found) if by == "day" else as_rows(found)), media_type="text/csv")
    return AnalyticsOut.of(found)


def _csv(rows: list[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()
