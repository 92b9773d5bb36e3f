"""The monitoring loops of a long-running process: flush counts, evaluate alerts, check credentials.

Every process flushes its own counts and reports its circuits and connections.
Alert evaluation, credential checks and rollup pruning must run once per cluster:
they run only while `is_leader()` says so (always, on the embedded single-process
default; PostgreSQL deployments plug in their leader election here).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

from pushwise.domain.clock import Clock
from pushwise.monitoring.alerting import AlertEvaluator
from pushwise.monitoring.circuits import ClusterEndpoints
from pushwise.monitoring.credential_checks import check_all
from pushwise.monitoring.tally import OutcomeTally
from pushwise.store.alerts import AlertRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.rollups import RollupRepository

log = logging.getLogger(__name__)
LeaderCheck = Callable[[], Awaitable[bool]]


async def always_leader() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class MonitoringOptions:
    flush_seconds: float = 2.0
    evaluate_seconds: float = 5.0
    credential_check_seconds: float = 600.0
    prune_seconds: float = 3600.0
    retention_seconds: float = 30 * 86400.0
    loops: bool = True  # False (setting `monitoring = false`): `start` runs nothing, for benchmarks


class Monitoring:
    """Everything monitoring owns in one process; a background service of the API or worker process."""

    def __init__(
        self,
        *,
        tally: OutcomeTally,
        endpoints: ClusterEndpoints,
        evaluator: AlertEvaluator,
        rollups: RollupRepository,
        alerts: AlertRepository,
        credentials: CredentialRepository,
        clock: Clock,
        options: MonitoringOptions,
        is_leader: LeaderCheck = always_leader,
    ) -> None:
        self.tally = tally
        self.endpoints = endpoints
        self.evaluator = evaluator
        self.rollups = rollups
        self.alerts = alerts
        self.credentials = credentials
        self.clock = clock
        self.options = options
        self.is_leader = is_leader
        self._tasks: list[asyncio.Task[None]] = []

    async def flush(self) -> None:
        """This process's share of the cluster view: its counts, circuits and connections."""
        try:
            await self.tally.flush()
        finally:  # counts that failed to write must not keep the circuits from being reported
            await self.endpoints.publish()

    async def check_credentials(self) -> None:
        await check_all(self.alerts, self.credentials, self.clock)

    async def prune(self) -> int:
        return await self.rollups.prune(self.clock.now(), retention_seconds=self.options.retention_seconds)

    async def start(self) -> None:
        o = self.options
        if not o.loops:
            return
        self._tasks = [
            asyncio.create_task(self._every(o.flush_seconds, self.flush, leader_only=False)),
            asyncio.create_task(self._every(o.evaluate_seconds, self.evaluator.evaluate, leader_only=True)),
            asyncio.create_task(
                self._every(o.credential_check_seconds, self.check_credentials, leader_only=True)
            ),
            asyncio.create_task(self._every(o.prune_seconds, self.prune, leader_only=True)),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            await self.tally.flush()  # the last outcomes of a draining worker
            await self.endpoints.withdraw()  # its circuits and connections end with it
        except Exception as error:  # the database is away: the reports age out by themselves
            log.warning("final monitoring flush failed, its last counts are lost: %s", error)

    async def _every(
        self, seconds: float, job: Callable[[], Awaitable[object]], *, leader_only: bool
    ) -> None:
        while True:
            try:
                if not leader_only or await self.is_leader():
                    await job()
            except Exception:  # monitoring must never take the process down
                log.exception("monitoring job %s failed", getattr(job, "__qualname__", job))
            await asyncio.sleep(seconds)
