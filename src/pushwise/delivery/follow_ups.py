"""The follow-up sweep: fallback steps and failure notices that a crash kept the listeners from writing.

Fallback planning and failure notices run as outcome listeners just after a batch
of outcomes commits; a process that dies in between leaves a user unreached with
no next step. The sweep, run by one process of the cluster (the leader), pages
through deliveries that gave up a little while ago (after `grace_seconds`, so the
listeners normally get there first) and runs the same planning code on them. That
code is idempotent, so a user the listeners already handled costs a look and
plans nothing. The same goes for devices turned off because the user denied the
notification permission: the API plans the notice after the device update
commits, and the sweep catches the users a crash in between left untold.

Each sweep reads at most `batch_size` rows per kind, resuming after the last one
it saw ((outcome time, delivery id), or (deactivated time, device id)); a new
leader looks back `lookback_seconds`. A full page means more is waiting: the
service sweeps again at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TypeVar

from pushwise.delivery.fallback import FallbackPlanner
from pushwise.delivery.notices import FailureNotices
from pushwise.domain.clock import Clock
from pushwise.store.fallback import FallbackRepository
from pushwise.store.notices import NoticeRepository, PermissionDenial, TokenDeath

log = logging.getLogger(__name__)

Mark = tuple[float, int]  # (outcome time, delivery id) of the last delivery seen
DeviceMark = tuple[float, str]  # (deactivated time, device id) of the last device seen


@dataclass(frozen=True, slots=True)
class SweepOptions:
    interval_seconds: float = 30.0
    grace_seconds: float = 60.0
    lookback_seconds: float = 3600.0
    batch_size: int = 500


@dataclass(frozen=True, slots=True)
class Swept:
    seen: int  # deliveries and devices read, every kind
    fallback_steps: int
    notices: int
    more: bool  # a page was full: sweep again without waiting


class FollowUpSweep:
    def __init__(
        self,
        fallback: FallbackRepository,
        planner: FallbackPlanner,
        notices: NoticeRepository,
        failure_notices: FailureNotices,
        clock: Clock,
        options: SweepOptions | None = None,
    ) -> None:
        self._fallback = fallback
        self._planner = planner
        self._notices = notices
        self._failure_notices = failure_notices
        self._clock = clock
        self.options = options or SweepOptions()
        self._fallback_mark: Mark = (-math.inf, 0)
        self._notice_mark: Mark = (-math.inf, 0)
        self._denial_mark: DeviceMark = (-math.inf, "")

    async def run_once(self) -> Swept:
        now = self._clock.now()
        until = now - self.options.grace_seconds
        floor: Mark = (now - self.options.lookback_seconds, 0)
        limit = self.options.batch_size

        gave_up = await self._fallback.gave_up(
            after=max(self._fallback_mark, floor), until=until, limit=limit
        )
        taken = await self._planner.plan({(g.notification_id, g.app_id, g.user_id) for g in gave_up})
        self._fallback_mark = _next_mark([(g.outcome_at, g.delivery_id) for g in gave_up], limit, (until, 0))

        period = self._failure_notices.policy.period_seconds
        deaths = await self._notices.token_deaths(
            after=max(self._notice_mark, floor), until=until, period=period, limit=limit
        )
        denials = await self._notices.permission_denials(
            after=max(self._denial_mark, (floor[0], "")), until=until, period=period, limit=limit
        )
        lost: dict[str, set[str]] = {}
        concerned: list[TokenDeath | PermissionDenial] = [*deaths, *denials]
        for row in concerned:
            lost.setdefault(row.app_id, set()).add(row.user_id)
        told = await self._failure_notices.tell(lost)
        self._notice_mark = _next_mark([(d.outcome_at, d.delivery_id) for d in deaths], limit, (until, 0))
        self._denial_mark = _next_mark([(d.deactivated_at, d.device_id) for d in denials], limit, (until, ""))

        if taken or told:
            log.warning(
                "follow-up sweep caught up %d fallback steps and %d failure notices", len(taken), len(told)
            )
        full = any(len(page) >= limit for page in (gave_up, deaths, denials))
        return Swept(len(gave_up) + len(deaths) + len(denials), len(taken), len(told), more=full)


AnyMark = TypeVar("AnyMark", Mark, DeviceMark)


def _next_mark(seen: list[AnyMark], limit: int, everything: AnyMark) -> AnyMark:
    """After a full page: its last row. Otherwise everything up to `until` was seen: `everything`."""
    return seen[-1] if len(seen) >= limit else everything


LeaderCheck = Callable[[], Awaitable[bool]]


class FollowUpService:
    """Runs the sweep in the background on the process that leads job `follow-ups`."""

    def __init__(self, sweep: FollowUpSweep, is_leader: LeaderCheck) -> None:
        self.sweep = sweep
        self._is_leader = is_leader
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="follow-up-sweep")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            more = False
            try:
                if await self._is_leader():
                    more = (await self.sweep.run_once()).more
            except Exception:  # the database is away: try again at the next interval
                log.exception("follow-up sweep failed")
            if not more:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.sweep.options.interval_seconds)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
