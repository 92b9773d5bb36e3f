"""Targeting by uplift as the worker meets it: a claimed batch's users scored in one model call
per notification, before the gate decides.

The gate's `uplift` check (`domain/gate/uplift.py`) is pure: it reads the model's answer
from the delivery. This fills those answers in. For each targeted notification in the
batch, the users not scored yet are scored together (`ModelScorer.decide_batch`: their
features in a few statements, one prediction for all of them), and the answers are kept
per (notification, user), so a user's other devices, a deferred delivery coming back
and the variant choice after the gate (`choices.py`) read the same answer instead of
scoring again. A model that cannot score (deleted, not ready, the learning extra
missing) answers with its problem, and the check lets the delivery through untargeted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from pushwise.domain.gate.model import GateDelivery, Targeting
from pushwise.domain.gate.uplift import needs_model
from pushwise.uplift import LearningUnavailable
from pushwise.uplift.scorer import ModelNotFound, ModelNotReady, ModelScorer

KEPT = 200_000  # answers kept per process: a large campaign's worth, a few MB


class UpliftTargeting:
    def __init__(self, scorer: ModelScorer, kept: int = KEPT) -> None:
        self._scorer = scorer
        self._kept = kept
        self._answers: OrderedDict[tuple[str, str], Targeting] = OrderedDict()

    def answer(self, notification_id: str, user_id: str) -> Targeting | None:
        """What the model answered for this user of this notification, if it was asked."""
        return self._answers.get((notification_id, user_id))

    async def targeted(self, deliveries: Sequence[GateDelivery], *, cache: bool = True) -> list[GateDelivery]:
        """The deliveries with their model's answer attached (those that need one)."""
        wanted: dict[tuple[str, str, str, float | None], list[str]] = {}
        for delivery in deliveries:
            notice = delivery.notice
            if not needs_model(delivery) or notice.uplift_model is None or delivery.user_id is None:
                continue
            if cache and (notice.id, delivery.user_id) in self._answers:
                continue
            key = (delivery.app_id, notice.id, notice.uplift_model, notice.uplift_cost)
            users = wanted.setdefault(key, [])
            if delivery.user_id not in users:
                users.append(delivery.user_id)
        fresh: dict[tuple[str, str], Targeting] = {}
        for (app_id, notification_id, model, cost), user_ids in wanted.items():
            fresh.update(
                {
                    (notification_id, u): t
                    for u, t in (await self._score(app_id, model, user_ids, cost)).items()
                }
            )
        if cache:
            self._keep(fresh)
        out = []
        for delivery in deliveries:
            user_key = (delivery.notice.id, delivery.user_id or "")
            found = fresh.get(user_key) or (self._answers.get(user_key) if cache else None)
            out.append(replace(delivery, targeting=found) if found is not None else delivery)
        return out

    async def _score(
        self, app_id: str, model: str, user_ids: list[str], cost: float | None
    ) -> dict[str, Targeting]:
        try:
            decisions = await self._scorer.decide_batch(app_id, model, user_ids, cost)
        except (ModelNotFound, ModelNotReady, LearningUnavailable) as problem:
            reason = "no such model" if isinstance(problem, ModelNotFound) else str(problem)
            return {user: Targeting(model, cost, None, reason) for user in user_ids}
        return {user: Targeting(model, cost, decisions[user]) for user in user_ids}

    def _keep(self, fresh: dict[tuple[str, str], Targeting]) -> None:
        """Answers are kept; a model's problem is not (it may be ready at the next batch)."""
        self._answers.update({key: t for key, t in fresh.items() if t.decision is not None})
        while len(self._answers) > self._kept:
            self._answers.popitem(last=False)
