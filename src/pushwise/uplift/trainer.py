"""Trains uplift models in the background, on the process that leads job `uplift-training`.

Requests only create a model row (`status: training`); this job claims it with a
lease, reads its rows, trains off the event loop, and writes the result guarded by the
lease, renewing it while it works. A process killed mid-training leaves the row
`training` with a lease that runs out; the next claim, by whichever process leads
then, trains it again from the start (training is deterministic, so the result is the
same). A model whose training was claimed `max_attempts` times without finishing
fails with that reason instead of taking trainers down forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

from pushwise.domain.clock import Clock
from pushwise.domain.uplift.outcomes import Goal
from pushwise.store.db import Database
from pushwise.store.uplift_data import read_training_rows
from pushwise.store.uplift_features import FeatureOptions
from pushwise.store.uplift_models import UpliftModel, UpliftModelRepository
from pushwise.uplift import LearningUnavailable, require_learning

log = logging.getLogger(__name__)

LeaderCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class TrainerOptions:
    lease_seconds: float = 300.0
    poll_seconds: float = 10.0
    max_attempts: int = 3


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class UpliftTrainer:
    def __init__(
        self,
        models: UpliftModelRepository,
        db: Database,
        features: FeatureOptions,
        clock: Clock,
        is_leader: LeaderCheck,
        options: TrainerOptions | None = None,
        owner: str | None = None,
    ) -> None:
        self.models = models
        self._db = db
        self._features = features
        self._clock = clock
        self._is_leader = is_leader
        self.options = options or TrainerOptions()
        self.owner = owner or process_owner()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> str | None:
        """Claim and train one model waiting for it; returns its id, None when none was waiting."""
        now = self._clock.now()
        model = await self.models.claim(self.owner, now, self.options.lease_seconds)
        if model is None:
            return None
        if model.attempts > self.options.max_attempts:
            reason = f"training was started {self.options.max_attempts} times and never finished"
            await self.models.fail(model.id, self.owner, reason, now)
            return model.id
        renewing = asyncio.create_task(self._renew(model.id))
        try:
            await self._train(model)
        except Exception:  # the database went away, or a bug: let another attempt try
            log.exception("training uplift model %s failed; it will be tried again", model.id)
            with suppress(Exception):
                await self.models.release(model.id, self.owner)
        finally:
            renewing.cancel()
            with suppress(asyncio.CancelledError):
                await renewing
        return model.id

    async def _train(self, model: UpliftModel) -> None:
        try:
            require_learning()
        except LearningUnavailable as missing:
            await self.models.fail(model.id, self.owner, str(missing), self._clock.now())
            return
        from pushwise.uplift.artifact import pack
        from pushwise.uplift.training import TrainingRefused, train_rows

        spec = model.spec
        rows = await read_training_rows(
            self._db,
            spec["experiment_ids"],
            Goal(spec["goal"]["event"], spec["goal"]["measure"]),
            float(spec["window_hours"]) * 3600,
            self._clock.now(),
            self._features,
            tuple(spec["features"]) if spec.get("features") is not None else None,
        )
        try:
            trained = await asyncio.to_thread(
                train_rows,
                rows,
                binary=spec["goal"]["measure"] == "any",
                cost=float(spec["cost_per_send"]),
                seed=int(spec.get("seed", 0)),
            )
        except TrainingRefused as refused:
            await self.models.fail(model.id, self.owner, str(refused), self._clock.now())
            return
        blob = await asyncio.to_thread(pack, trained)
        if not await self.models.complete(model.id, self.owner, trained.summary, blob, self._clock.now()):
            log.warning("uplift model %s was trained, but its lease had passed to another process", model.id)

    async def _renew(self, model_id: str) -> None:
        every = self.options.lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            with suppress(Exception):
                await self.models.renew(model_id, self.owner, self._clock.now() + self.options.lease_seconds)

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="uplift-trainer")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            trained = None
            try:
                if await self._is_leader():
                    trained = await self.run_once()
            except Exception:  # the database is away: try again at the next poll
                log.exception("uplift training poll failed")
            if trained is None:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.options.poll_seconds)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
