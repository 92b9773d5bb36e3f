"""Circuit breakers and provider connections, seen across the cluster.

Both live in one process's memory (built in `pushwise.delivery`), but a cluster runs
`pushwise api` and several `pushwise worker` processes, and the one answering a scrape
or evaluating alerts (the leader) may send nothing itself. So every process publishes
its own circuits and connection counts with each monitoring flush, and readers take
this process's live values plus the other processes' fresh rows. Publishing also
brings back the other processes' open circuits, which this process adopts: all
workers hold their sends to a failing endpoint together.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from typing import Protocol

from pushwise.domain.circuit import CircuitKey, CircuitReport, holds, worst
from pushwise.domain.clock import Clock
from pushwise.store.circuits import EndpointReports

CIRCUIT_STATES = ("closed", "half_open", "open")


class CircuitStates(Protocol):
    """The process's circuit board (`pushwise.delivery.circuits.CircuitBoard`)."""

    def reports(self, owner: str) -> list[CircuitReport]:
        """Its own circuits that have seen trouble, for the cluster."""
        ...

    def adopt(self, holds: Mapping[CircuitKey, CircuitReport]) -> None:
        """Hold sends to endpoints other processes found failing."""
        ...


class ConnectionCounts(Protocol):
    """The process's providers (`pushwise.delivery.providers.ProviderRegistry`)."""

    def connections(self) -> Mapping[CircuitKey, int]: ...


def process_owner() -> str:
    """Names this process in the reports: host and pid for operators, random bits for two in one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class ClusterEndpoints:
    def __init__(
        self,
        reports: EndpointReports,
        circuits: CircuitStates,
        pools: ConnectionCounts,
        clock: Clock,
        *,
        owner: str,
        stale_seconds: float,
    ) -> None:
        self._reports = reports
        self._circuits = circuits
        self._pools = pools
        self._clock = clock
        self.owner = owner
        self._stale = stale_seconds
        self._published = True  # so the first flush writes: it also prunes what dead processes left

    async def publish(self) -> None:
        """Report this process's circuits and connections; adopt the others' open circuits."""
        now = self._clock.now()
        mine = self._circuits.reports(self.owner)
        counts = {key: n for key, n in self._pools.connections().items() if n > 0}
        if mine or counts or self._published:  # an idle process costs one read, not a write
            await self._reports.publish(self.owner, mine, counts, now=now, stale_before=now - self._stale)
        self._published = bool(mine or counts)
        self._circuits.adopt(
            holds(await self._reports.fresh_circuits(fresh_after=now - self._stale), self.owner, now)
        )

    async def withdraw(self) -> None:
        await self._reports.withdraw(self.owner)
        self._published = False

    async def states(self) -> dict[CircuitKey, str]:
        """The worst state per (app, channel) any live process reports; only circuits with trouble."""
        return {key: report.state.value for key, report in (await self.circuits()).items()}

    async def circuits(self) -> dict[CircuitKey, CircuitReport]:
        now = self._clock.now()
        others = [
            report
            for report in await self._reports.fresh_circuits(fresh_after=now - self._stale)
            if report.owner != self.owner
        ]
        return worst([*self._circuits.reports(self.owner), *others])

    async def connections(self) -> dict[CircuitKey, int]:
        """Open provider connections per (app, channel), summed over the live processes."""
        now = self._clock.now()
        total = await self._reports.fresh_connections(fresh_after=now - self._stale, excluding=self.owner)
        for key, n in self._pools.connections().items():
            if n > 0:
                total[key] = total.get(key, 0) + n
        return total
