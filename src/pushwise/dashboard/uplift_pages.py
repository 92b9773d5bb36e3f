"""`/dashboard/uplift-models`: the app's uplift models, and each model's validation and uses."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from pushwise.dashboard.routes import _context, _page, _services
from pushwise.dashboard.uplift_charts import decile_chart, policy_chart, qini_chart
from pushwise.store.uplift_models import UpliftModelRepository

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("/uplift-models")
async def uplift_models(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    models = []
    if context["app_id"] is not None:
        models = await UpliftModelRepository(_services(request).db).listed(context["app_id"])
    return await _page(request, "uplift_models.html", models=models, **context)


@router.get("/uplift-models/{model_id}")
async def uplift_model(request: Request, model_id: str) -> Response:
    """The model's validation (Qini curve, deciles, policy value against fixed policies) and its uses."""
    context = await _context(request)
    if isinstance(context, Response):
        return context
    repository = UpliftModelRepository(_services(request).db)
    app_id = context["app_id"]
    model = await repository.get(app_id, model_id) if app_id else None
    if model is None:
        missing = await _page(request, "missing.html", what="uplift model", **context)
        missing.status_code = 404
        return missing
    validation = (model.summary or {}).get("validation")
    charts = {}
    if validation:
        policies = {"model": validation["policy"], **validation["baseline_details"]}
        charts = {
            "qini_chart": qini_chart({arm: v["qini_curve"] for arm, v in validation["by_arm"].items()}),
            "decile_chart": decile_chart(validation["uplift_by_decile"]),
            "policy_chart": policy_chart(policies),
        }
    uses = await repository.uses(str(app_id), model_id)
    return await _page(
        request, "uplift_model.html", model=model, v=validation, uses=uses, **charts, **context
    )
