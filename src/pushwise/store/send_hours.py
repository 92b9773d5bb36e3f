"""The send-time histograms (`domain/gate/send_time.py`): written by the event ingest, read by the gate.

Opens and clicks are added inside the ingest's own transaction, per user and per app, with
the same decayed upsert as interests (decay in SQL, rows written in key order), so
concurrent batches never read-modify-write a histogram.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, select

from pushwise.domain.audience.decay import LN2, Decayed
from pushwise.domain.audience.learning import LearnedEvent
from pushwise.domain.gate.send_time import (
    HISTORY_HALF_LIFE,
    READ_EVENTS,
    hour_deltas,
    population_deltas,
    zone_name,
)
from pushwise.store.driver import run
from pushwise.store.engagement import decayed_sum, later
from pushwise.store.schema import app_send_hours, user_send_hours, users
from pushwise.store.upsert import insert_for

_RATE = LN2 / HISTORY_HALF_LIFE


@cache
def _upsert(dialect: str, per_user: bool) -> Any:
    table = user_send_hours if per_user else app_send_hours
    insert = insert_for(dialect, table)
    excluded = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=["user_id" if per_user else "app_id", "hour"],
        set_={
            "weight": decayed_sum(table.c.weight, table.c.at, excluded.weight, excluded.at, _RATE),
            "at": later(table.c.at, excluded.at),
        },
    )


_ZONES = select(users.c.id, users.c.timezone, users.c.country).where(
    users.c.id.in_(bindparam("user_ids", expanding=True))
)


def add_send_hours(conn: Connection, app_id: str, events: Sequence[LearnedEvent]) -> None:
    """Add the batch's opens and clicks to its users' and the app's histograms."""
    readers = sorted({event.user_id for event in events if event.type in READ_EVENTS})
    if not readers:
        return
    zones = {row[0]: zone_name(row[1], row[2]) for row in run(conn, _ZONES, {"user_ids": readers})}
    deltas = hour_deltas(events, zones)
    dialect = conn.dialect.name
    run(
        conn,
        _upsert(dialect, True),
        [
            {"user_id": user, "hour": hour, "app_id": app_id, "weight": value.value, "at": value.at}
            for (user, hour), value in sorted(deltas.items())
        ],
    )
    run(
        conn,
        _upsert(dialect, False),
        [
            {"app_id": app_id, "hour": hour, "weight": value.value, "at": value.at}
            for hour, value in sorted(population_deltas(deltas).items())
        ],
    )


def user_hours(conn: Connection, user_ids: Collection[str], now: float) -> dict[str, dict[int, float]]:
    if not user_ids:
        return {}
    found: dict[str, dict[int, float]] = {}
    query = select(user_send_hours).where(user_send_hours.c.user_id.in_(list(user_ids)))
    for row in conn.execute(query):
        weight = Decayed(row.weight, row.at).worth(now, HISTORY_HALF_LIFE)
        found.setdefault(row.user_id, {})[row.hour] = weight
    return found


def app_hours(conn: Connection, app_ids: Collection[str], now: float) -> Mapping[str, dict[int, float]]:
    if not app_ids:
        return {}
    found: dict[str, dict[int, float]] = {}
    query = select(app_send_hours).where(app_send_hours.c.app_id.in_(list(app_ids)))
    for row in conn.execute(query):
        weight = Decayed(row.weight, row.at).worth(now, HISTORY_HALF_LIFE)
        found.setdefault(row.app_id, {})[row.hour] = weight
    return found
