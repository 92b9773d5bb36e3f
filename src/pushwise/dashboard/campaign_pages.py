"""`/dashboard/campaigns`: the app's campaigns, and each one's funnel, holdout and uplift with charts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from pushwise.api.schemas.campaigns import AnalyticsOut
from pushwise.dashboard.campaign_charts import days_chart, funnel_chart
from pushwise.dashboard.routes import _context, _page, _services
from pushwise.store.campaign_analytics import campaign_analytics

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("/campaigns")
async def campaigns(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    app_id = context["app_id"]
    found = await _services(request).engine.campaigns.of_app(app_id) if app_id else []
    return await _page(request, "campaigns.html", campaigns=found, **context)


@router.get("/campaigns/{campaign_id}")
async def campaign(request: Request, campaign_id: str) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    services = _services(request)
    app_id = context["app_id"]
    found = await services.engine.campaigns.get(app_id, campaign_id) if app_id else None
    if found is None:
        missing = await _page(request, "missing.html", what="campaign", **context)
        missing.status_code = 404
        return missing
    numbers = AnalyticsOut.of(await services.db.query(lambda conn: campaign_analytics(conn, campaign_id)))
    arms = [arm.model_dump() for arm in numbers.variants]
    if numbers.holdout is not None:
        arms.append(numbers.holdout.model_dump())
    return await _page(
        request,
        "campaign.html",
        campaign=found,
        analytics=numbers,
        funnel_chart=funnel_chart(arms),
        days_chart=days_chart([day.model_dump() for day in numbers.days]),
        **context,
    )
