"""Pushes sent and delivered, counted into each user's engagement; the audience upkeep.

The engine knows what it sent; apps tell what users did with it (`POST /v1/events`).
`EngagementRecorder` is an outcome listener: it adds each user's sends and
deliveries to the per-day engagement counters and to the denominator of their open
propensity. It buffers and writes once per flush (by count, or by time on the
injected clock, and on stop), so a busy worker pays one small transaction per
flush, not one per batch. A process killed between flushes loses at most those
counts: engagement is a guide for targeting, not a ledger (caps and fatigue count from
the gate's own ledger, `store/gate_ledger.py`).

`AudienceUpkeep` runs beside the API and workers: it flushes the recorder when
traffic stops, and (on the leader) prunes raw events past their retention, engagement days
no window reads any more, and the gate's ledger past the longest policy window, and rebuilds
item popularity for picks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from pushwise.delivery.worker import Recorded
from pushwise.domain.audience.decay import LN2, Decayed
from pushwise.domain.audience.learning import ALL_TIME, AudienceOptions, day_of
from pushwise.domain.clock import Clock
from pushwise.domain.states import DeliveryState
from pushwise.store.catalog import apps_with_items, refresh_popularity
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.engagement import (
    engagement_upsert,
    existing_users,
    propensity_update,
    prune_engagement_days,
)
from pushwise.store.gate_ledger import LEDGER_KEPT_SECONDS
from pushwise.store.gate_ledger import prune as prune_ledger
from pushwise.store.user_events import prune_events

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Sends:
    app_id: str
    sent: int = 0
    delivered: int = 0


class EngagementRecorder:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        propensity_half_life: float,
        *,
        flush_seconds: float = 2.0,
        max_pending: int = 20_000,
    ) -> None:
        self._db = db
        self._clock = clock
        self._rate = LN2 / propensity_half_life
        self._half_life = propensity_half_life
        self._flush_seconds = flush_seconds
        self._max_pending = max_pending
        self._sends: dict[tuple[str, int], _Sends] = {}
        self._pushes: dict[str, Decayed] = {}
        self._since: float | None = None
        self._lock = asyncio.Lock()

    async def recorded(self, batch: Sequence[Recorded]) -> None:
        sends, pushes, half_life = self._sends, self._pushes, self._half_life
        days: tuple[float, int] | None = None  # a batch shares one record time: its day is worked out once
        for item in batch:
            user_id, update = item.claimed.user_id, item.update
            if user_id is None:
                continue
            first_send = update.sent and update.attempts == 1
            delivered = update.state is DeliveryState.DELIVERED
            if not (first_send or delivered):
                continue
            if days is None or days[0] != item.at:
                days = (item.at, day_of(item.at))
            for key in ((user_id, days[1]), (user_id, ALL_TIME)):
                counts = sends.get(key)
                if counts is None:
                    counts = sends[key] = _Sends(item.claimed.app_id)
                counts.sent += first_send
                counts.delivered += delivered
            if delivered:
                previous = pushes.get(user_id)
                pushes[user_id] = (
                    Decayed(1.0, item.at) if previous is None else previous.plus(1.0, item.at, half_life)
                )
        if sends and self._since is None:
            self._since = self._clock.now()
        if len(sends) >= self._max_pending or (
            self._since is not None and self._clock.now() - self._since >= self._flush_seconds
        ):
            await self.flush()

    async def flush(self) -> None:
        """Write what is buffered in one transaction; on failure keep it for the next flush.

        The rows are built on the database thread, inside the transaction: the event loop only
        swaps the buffers.
        """
        async with self._lock:
            sends, pushes = self._sends, self._pushes
            if not sends and not pushes:
                return
            self._sends, self._pushes, self._since = {}, {}, None
            rate = self._rate

            def write(conn: Connection) -> None:
                # A user erased since these were counted is gone for good: their counts go with them.
                alive = existing_users(conn, {user for user, _day in sends})
                kept = [
                    {
                        "user_id": user,
                        "day": day,
                        "app_id": c.app_id,
                        "sent": c.sent,
                        "delivered": c.delivered,
                    }
                    for (user, day), c in sorted(sends.items())
                    if user in alive
                ]
                if kept:
                    run(conn, engagement_upsert(conn.dialect.name, ("sent", "delivered")), kept)
                if pushes:
                    push_rows = [
                        {"b_user": user, "amount": v.value, "b_at": v.at}
                        for user, v in sorted(pushes.items())
                    ]
                    run(conn, propensity_update("pushes", rate), push_rows)

            try:
                await self._db.transact(write)
            except Exception:
                self._restore(sends, pushes)
                raise

    def _add_pushes(self, user_id: str, amount: float, at: float) -> None:
        previous = self._pushes.get(user_id)
        self._pushes[user_id] = (
            Decayed(amount, at) if previous is None else previous.plus(amount, at, self._half_life)
        )

    def _restore(self, sends: dict[tuple[str, int], _Sends], pushes: dict[str, Decayed]) -> None:
        for key, counts in sends.items():
            kept = self._sends.setdefault(key, _Sends(counts.app_id))
            kept.sent += counts.sent
            kept.delivered += counts.delivered
        for user, value in pushes.items():
            previous = self._pushes.get(user)
            self._pushes[user] = (
                value if previous is None else previous.plus(value.value, value.at, self._half_life)
            )
        if self._since is None:
            self._since = self._clock.now()


LeaderCheck = Callable[[], Awaitable[bool]]


class AudienceUpkeep:
    """Background loops of the audience: flush the recorder; on the leader, prune old rows."""

    def __init__(
        self,
        recorder: EngagementRecorder,
        db: Database,
        clock: Clock,
        options: AudienceOptions,
        is_leader: LeaderCheck,
        *,
        flush_seconds: float = 2.0,
        prune_seconds: float = 3600.0,
        popularity_seconds: float = 300.0,
    ) -> None:
        self.recorder = recorder
        self._db = db
        self._clock = clock
        self._options = options
        self._is_leader = is_leader
        self._flush_seconds = flush_seconds
        self._prune_seconds = prune_seconds
        self._popularity_seconds = popularity_seconds
        self._tasks: list[asyncio.Task[None]] = []

    async def prune(self) -> tuple[int, int]:
        """Raw events past retention, engagement days past the longest window, and the gate's
        ledger past the longest window a policy may name."""
        now = self._clock.now()
        events = await prune_events(self._db, before=now - self._options.retention)
        days = await self._db.transact(lambda conn: prune_engagement_days(conn, day_of(now)))
        await self._db.transact(lambda conn: prune_ledger(conn, now - LEDGER_KEPT_SECONDS))
        return events, days

    async def refresh_popularity(self) -> int:
        """Item popularity per cohort, for picks: one transaction per app with a catalogue."""
        now = self._clock.now()
        refreshed = 0
        for app_id in await self._db.query(apps_with_items):
            refreshed += await self._db.transact(partial(refresh_popularity, app_id=app_id, now=now))
        return refreshed

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(self._flush_seconds, self.recorder.flush, leader_only=False)),
            asyncio.create_task(self._every(self._prune_seconds, self.prune, leader_only=True)),
            asyncio.create_task(
                self._every(self._popularity_seconds, self.refresh_popularity, leader_only=True)
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            await self.recorder.flush()
        except Exception as error:  # the database is away: these counts are lost, deliveries are not
            log.warning("final engagement flush failed: %s", error)

    async def _every(
        self, seconds: float, job: Callable[[], Awaitable[object]], *, leader_only: bool
    ) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                if not leader_only or await self._is_leader():
                    await job()
            except Exception:  # upkeep must never take the process down
                log.exception("audience job %s failed", getattr(job, "__qualname__", job))
