"""Adding to what a profile learned: decayed sums and engagement counters, in SQL.

Shared by the event log (opens, clicks, interests) and the engine's engagement
recorder (pushes sent and delivered). Every write is an increment computed by the
database itself, so writers on many processes never overwrite one another.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any, Literal

from sqlalchemy import Connection, Float, bindparam, case, delete, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from pushwise.domain.audience.learning import ALL_TIME
from pushwise.store.schema import user_engagement, users
from pushwise.store.upsert import insert_for

# Day rows older than this are pruned (30-day windows are the longest read from them).
ENGAGEMENT_DAYS_KEPT = 31


def decayed_sum(
    stored_value: ColumnElement[float], stored_at: ColumnElement[float], value: Any, at: Any, rate: Any
) -> ColumnElement[float]:
    """SQL for `Decayed(stored).plus(value, at)` (`domain/audience/decay.py`): refer the sum to the
    later of the two times; `rate` is ln 2 / half-life."""
    return case(
        (at >= stored_at, stored_value * func.exp(-rate * (at - stored_at)) + value),
        else_=stored_value + value * func.exp(-rate * (stored_at - at)),
    )


def later(stored_at: ColumnElement[float], at: Any) -> ColumnElement[float]:
    return case((at >= stored_at, at), else_=stored_at)


@cache
def engagement_upsert(dialect: str, counters: tuple[str, ...]) -> Any:
    """Add to per-day (and all-time, `day` 0) engagement counters of the rows given.

    Built once per dialect and counter set: the driver compiles each statement object once.
    """
    insert = insert_for(dialect, user_engagement)
    excluded = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=["user_id", "day"],
        set_={name: user_engagement.c[name] + excluded[name] for name in counters},
    )


@cache
def propensity_update(added: Literal["opens", "pushes"], rate: float) -> Any:
    """Add decayed opens (or pushes delivered) to users `b_user` at `b_at`, amount `amount`.

    Opens and pushes share one reference time (`engaged_at`), so adding to one decays the other along.
    """
    at = bindparam("b_at", type_=Float)
    amount = bindparam("amount", type_=Float)
    engaged_at = users.c.engaged_at
    columns = {"opens": users.c.opens_decayed, "pushes": users.c.pushes_decayed}
    values: dict[str, Any] = {"engaged_at": case((engaged_at.is_(None), at), else_=later(engaged_at, at))}
    for name, column in columns.items():
        if name == added:
            values[column.name] = case(
                (engaged_at.is_(None), amount), else_=decayed_sum(column, engaged_at, amount, at, rate)
            )
        else:
            values[column.name] = case(
                (engaged_at.is_(None), column),
                (at >= engaged_at, column * func.exp(-rate * (at - engaged_at))),
                else_=column,
            )
    return update(users).where(users.c.id == bindparam("b_user")).values(**values)


def existing_users(conn: Connection, user_ids: Collection[str]) -> set[str]:
    """Those of `user_ids` still stored (an erased user's late counts must not write, nor fail a batch)."""
    if not user_ids:
        return set()
    return set(conn.execute(select(users.c.id).where(users.c.id.in_(sorted(user_ids)))).scalars())


def prune_engagement_days(conn: Connection, today: int) -> int:
    """Drop day rows no window reads any more; the all-time row stays."""
    statement = delete(user_engagement).where(
        user_engagement.c.day != ALL_TIME, user_engagement.c.day <= today - ENGAGEMENT_DAYS_KEPT
    )
    return int(conn.execute(statement).rowcount or 0)
