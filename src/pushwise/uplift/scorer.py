"""Scoring users with a trained model: the decision for each, in batches.

The API's `POST /v1/uplift-models/{id}/score` and the planner (targeting by uplift)
both come here. A model is loaded from the database once per process and kept (a
few, newest use first); features are read for the whole batch in a handful of
statements, and prediction and decisions run off the event loop.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pushwise.domain.clock import Clock
from pushwise.domain.uplift.decision import Decision
from pushwise.store.db import Database
from pushwise.store.uplift_features import FeatureOptions, families, features_now, features_of
from pushwise.store.uplift_models import READY, UpliftModel, UpliftModelRepository
from pushwise.uplift import require_learning

if TYPE_CHECKING:
    from pushwise.uplift.loaded import LoadedModel

_KEPT = 8


class ModelNotFound(LookupError):
    pass


class ModelNotReady(RuntimeError):
    def __init__(self, model: UpliftModel) -> None:
        detail = f": {model.error}" if model.error else ""
        super().__init__(f"the model is {model.status}{detail}; only a ready model scores")
        self.model = model


@dataclass(frozen=True, slots=True)
class Scored:
    external_id: str
    decision: Decision


def selection_of(model: UpliftModel) -> tuple[str, ...] | None:
    chosen = model.spec.get("features")
    return tuple(chosen) if chosen is not None else None


class ModelScorer:
    def __init__(
        self, models: UpliftModelRepository, db: Database, features: FeatureOptions, clock: Clock
    ) -> None:
        self._models = models
        self._db = db
        self._features = features
        self._clock = clock
        self._loaded: OrderedDict[str, tuple[float, LoadedModel]] = OrderedDict()

    async def ready(self, app_id: str, model_id: str) -> tuple[UpliftModel, LoadedModel]:
        """The model and its learner; `ModelNotFound` for another app's or no model."""
        model = await self._models.get(app_id, model_id)
        if model is None:
            raise ModelNotFound(model_id)
        if model.status != READY or model.trained_at is None or model.summary is None:
            raise ModelNotReady(model)
        kept = self._loaded.get(model_id)
        if kept is not None and kept[0] == model.trained_at:
            self._loaded.move_to_end(model_id)
            return model, kept[1]
        require_learning()
        from pushwise.uplift.loaded import LoadedModel

        blob = await self._models.artifact(app_id, model_id)
        if blob is None:
            raise ModelNotReady(model)
        summary, cost = model.summary, float(model.spec["cost_per_send"])
        loaded = await asyncio.to_thread(LoadedModel.of, summary, blob, cost)
        self._loaded[model_id] = (model.trained_at, loaded)
        while len(self._loaded) > _KEPT:
            self._loaded.popitem(last=False)
        return model, loaded

    async def score(
        self, app_id: str, model_id: str, external_ids: Sequence[str], cost: float | None
    ) -> tuple[LoadedModel, list[Scored]]:
        """Decisions for the app's users by external id; an unknown user is scored with no features."""
        model, loaded = await self.ready(app_id, model_id)
        now, needed = self._clock.now(), families(loaded.schema.names)
        _ids, features = await features_now(
            self._db, app_id, external_ids, now, self._features, selection_of(model), needed
        )
        decisions = await asyncio.to_thread(loaded.decide, features, cost)
        return loaded, [Scored(e, d) for e, d in zip(external_ids, decisions, strict=True)]

    async def decide_batch(
        self, app_id: str, model_id: str, user_ids: Sequence[str], cost: float | None
    ) -> dict[str, Decision]:
        """For the planner: each user's (internal id) decision at `cost` (None: the model's own)."""
        model, loaded = await self.ready(app_id, model_id)
        needed = families(loaded.schema.names)
        features = await features_of(
            self._db, user_ids, self._clock.now(), self._features, selection_of(model), needed
        )
        decisions = await asyncio.to_thread(loaded.decide, features, cost)
        return dict(zip(user_ids, decisions, strict=True))
