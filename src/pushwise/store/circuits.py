"""What each process reports about its provider endpoints: circuit breakers and open connections.

Circuits and connection pools live in one process's memory, but `/metrics` and the
alert rules answer for the cluster. So every process rewrites its own rows every
flush (one transaction: its old rows out, its current ones in, and any process's
stale rows pruned), and readers take only rows refreshed recently: a process that
died stops refreshing, and its last word stops counting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, func, insert, select

from pushwise.domain.circuit import CircuitKey, CircuitReport, CircuitState
from pushwise.store.db import Database
from pushwise.store.schema import circuits, provider_connections

_REASON_LENGTH = 64


class EndpointReports:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(
        self,
        owner: str,
        reports: Sequence[CircuitReport],
        connections: Mapping[CircuitKey, int],
        *,
        now: float,
        stale_before: float,
    ) -> None:
        """Replace `owner`'s rows with `reports` and `connections` (zero counts are left out)."""
        async with self._db.writing() as conn:
            for table in (circuits, provider_connections):
                await conn.execute(
                    delete(table).where((table.c.owner == owner) | (table.c.updated_at < stale_before))
                )
            if reports:
                await conn.execute(insert(circuits), [_circuit_row(report) for report in reports])
            counted = [
                {"app_id": app, "channel": channel, "owner": owner, "connections": n, "updated_at": now}
                for (app, channel), n in sorted(connections.items())
                if n > 0
            ]
            if counted:
                await conn.execute(insert(provider_connections), counted)

    async def withdraw(self, owner: str) -> None:
        """A process that stops takes its reports with it instead of leaving them to go stale."""
        async with self._db.writing() as conn:
            for table in (circuits, provider_connections):
                await conn.execute(delete(table).where(table.c.owner == owner))

    async def fresh_circuits(self, *, fresh_after: float) -> list[CircuitReport]:
        c = circuits.c
        query = select(
            c.owner, c.app_id, c.channel, c.state, c.reason, c.opened_at, c.until, c.updated_at
        ).where(c.updated_at >= fresh_after)
        async with self._db.read.connect() as conn:
            return [
                CircuitReport(str(o), str(a), str(ch), CircuitState(s), r, float(op), float(u), float(up))
                for o, a, ch, s, r, op, u, up in await conn.execute(query)
            ]

    async def fresh_connections(self, *, fresh_after: float, excluding: str) -> dict[CircuitKey, int]:
        """Open connections per (app, channel), summed over every process but `excluding`."""
        p = provider_connections.c
        query = (
            select(p.app_id, p.channel, func.sum(p.connections))
            .where(p.updated_at >= fresh_after, p.owner != excluding)
            .group_by(p.app_id, p.channel)
        )
        async with self._db.read.connect() as conn:
            return {(str(a), str(ch)): int(n) for a, ch, n in await conn.execute(query)}


def _circuit_row(report: CircuitReport) -> dict[str, object]:
    return {
        "app_id": report.app_id,
        "channel": report.channel,
        "owner": report.owner,
        "state": report.state.value,
        "reason": None if report.reason is None else report.reason[:_REASON_LENGTH],
        "opened_at": report.opened_at,
        "until": report.until,
        "updated_at": report.updated_at,
    }
