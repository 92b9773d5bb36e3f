"""The shared side of request budgets: one row per bucket, refilled and charged in one statement.

Each API process charges what it spent since its last sync with one multi-row
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`: the row is refilled for the time since it was
last charged (at most to the burst), the spend is subtracted (the level may go negative: debt,
see `pushwise.domain.request_budget`), and the new level comes back to the process. Rows are
taken in name order, so two processes charging overlapping buckets cannot deadlock. Rows of
buckets nobody has charged for an hour are deleted now and then: a missing row is a full bucket.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, case, delete, literal

from pushwise.domain.request_budget import Spend
from pushwise.store.db import Database
from pushwise.store.schema import request_budgets
from pushwise.store.upsert import upsert_into

IDLE_SECONDS = 3600.0
_CHUNK = 500  # buckets per statement


class SharedBudgets:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def charge(self, spends: Sequence[Spend], now: float) -> dict[str, float]:
        """Charge every spend at `now`; returns each bucket's level afterwards."""
        ordered = sorted(spends, key=lambda spend: spend.name)
        return await self._db.transact(lambda connection: self._charge(connection, ordered, now))

    async def forget_idle(self, now: float) -> None:
        cutoff = now - IDLE_SECONDS
        await self._db.transact(
            lambda connection: connection.execute(
                delete(request_budgets).where(request_budgets.c.updated_at < cutoff)
            )
        )

    def _charge(self, connection: Connection, spends: Sequence[Spend], now: float) -> dict[str, float]:
        levels: dict[str, float] = {}
        for start in range(0, len(spends), _CHUNK):
            rows = [
                {
                    "name": spend.name,
                    "level": spend.rate.burst - spend.spent,
                    "updated_at": now,
                    "per_second": spend.rate.per_second,
                    "burst": spend.rate.burst,
                    "spent": float(spend.spent),
                }
                for spend in spends[start : start + _CHUNK]
            ]
            insert = upsert_into(self._db, request_budgets).values(rows)
            new = insert.excluded
            old = request_budgets.c
            elapsed = _larger(new.updated_at - old.updated_at, literal(0.0))
            statement = insert.on_conflict_do_update(
                index_elements=[old.name],
                set_={
                    "level": _smaller(old.level + elapsed * new.per_second, new.burst) - new.spent,
                    "updated_at": _larger(new.updated_at, old.updated_at),
                    "per_second": new.per_second,
                    "burst": new.burst,
                    "spent": new.spent,
                },
            ).returning(old.name, old.level)
            for name, level in connection.execute(statement):
                levels[name] = level
        return levels


def _larger(a: ColumnElement[float], b: ColumnElement[float]) -> ColumnElement[float]:
    """`max(a, b)` spelt the same on both engines (SQLite has no GREATEST, PostgreSQL no 2-arg MAX)."""
    return case((a > b, a), else_=b)


def _smaller(a: ColumnElement[float], b: ColumnElement[float]) -> ColumnElement[float]:
    return case((a < b, a), else_=b)
