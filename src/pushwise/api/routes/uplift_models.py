"""`/v1/uplift-models`: create (trained in the background), read with validation, score (server key)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Response, status

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.schemas.uplift_models import ScoreIn, ScoresOut, UpliftModelIn, UpliftModelOut
from pushwise.uplift import EXTRA, LearningUnavailable, require_learning
from pushwise.uplift.scorer import ModelNotFound, ModelNotReady

router = APIRouter(prefix="/v1/uplift-models", tags=["uplift"])

ModelId = Annotated[str, Path(min_length=1, max_length=40)]


def _learning_available() -> None:
    try:
        require_learning()
    except LearningUnavailable as missing:
        raise ApiError(501, "uplift_unavailable", f"{missing} ({EXTRA})") from missing


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_model(
    body: UpliftModelIn, principal: Server, stores: StoresDep, services: ServicesDep
) -> UpliftModelOut:
    """Record the request; the leader trains it in the background (`status` turns `ready` or `failed`)."""
    _learning_available()
    app_id = principal.app_id_required
    experiment_ids: list[str] = []
    for kind in ("experiments", "notifications", "campaigns"):
        asked = getattr(body.learn_from, kind)
        found = await stores.experiments.of_sources(app_id, kind, asked)
        for index, source in enumerate(asked):
            if source not in found:
                what = "experiment" if kind == "experiments" else f"{kind[:-1]} with a holdout or variants"
                raise ApiError(
                    422, "unknown_source", f"no such {what}: {source}", f"learn_from.{kind}[{index}]"
                )
            experiment_ids.append(found[source].id)
    if not await stores.experiments.has_events(app_id, body.goal.event):
        raise ApiError(
            422,
            "goal_has_no_events",
            f"this app has no {body.goal.event!r} events: a model could learn nothing from it",
            "goal.event",
        )
    spec = {**body.model_dump(), "experiment_ids": list(dict.fromkeys(experiment_ids))}
    model = await stores.uplift_models.create(app_id, body.name, spec, services.clock.now())
    return UpliftModelOut.of(model)


@router.get("/{model_id}")
async def get_model(model_id: ModelId, principal: Server, stores: StoresDep) -> UpliftModelOut:
    model = await stores.uplift_models.get(principal.app_id_required, model_id)
    if model is None:
        raise not_found("uplift model")
    return UpliftModelOut.of(model)


@router.post("/{model_id}/score", response_model=ScoresOut)
async def score(model_id: ModelId, body: ScoreIn, principal: Server, services: ServicesDep) -> Response:
    """Each user's best arm, expected gain per arm, and whether to send at the cost (an unknown user
    is scored as a user with no features)."""
    _learning_available()
    try:
        loaded, scored = await services.uplift_scorer.score(
            principal.app_id_required, model_id, body.user_ids, body.cost_per_send
        )
    except ModelNotFound as missing:
        raise not_found("uplift model") from missing
    except ModelNotReady as waiting:
        raise ApiError(409, "model_not_ready", str(waiting)) from waiting
    cost = loaded.cost if body.cost_per_send is None else body.cost_per_send
    fallback = loaded.choice(cost).fallback
    # Encoded straight from the decisions (the shape of `ScoresOut`): a thousand scores through
    # the response model cost more than the scoring itself.
    scores = [
        {
            "user_id": item.external_id,
            "best_arm": item.decision.best_arm,
            "uplift": item.decision.uplift,
            "send": item.decision.send,
        }
        for item in scored
    ]
    answer = {"scores": scores, "cost_per_send": cost, "policy": fallback or "personalised"}
    return Response(orjson.dumps(answer), media_type="application/json")
