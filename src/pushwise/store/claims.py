"""Fair batch claims, written once per engine.

A claim must not let one app's huge campaign starve the others. It first looks
up which apps have due deliveries, then takes up to `limit / apps` rows from each
(lowest lane first, then oldest due), and fills whatever the quotas left unused
from the global order. On PostgreSQL every step is a `FOR UPDATE SKIP LOCKED`
select, so any number of workers claim side by side without waiting on each
other and never claim the same row; on SQLite the single write connection
serialises claims anyway.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Float, String, exists, select, text

from pushwise.store.schema import apps, deliveries


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    owner: str
    limit: int
    now: float
    lease_until: float

    def params(self) -> dict[str, Any]:
        return {"owner": self.owner, "now": self.now, "lease_until": self.lease_until}


def due_apps(conn: Connection, now: float) -> list[str]:
    """Apps with at least one due delivery: one index probe per app."""
    due = exists().where(
        deliveries.c.app_id == apps.c.id, deliveries.c.due_at.is_not(None), deliveries.c.due_at <= now
    )
    return list(conn.execute(select(apps.c.id).where(due).order_by(apps.c.id)).scalars())


def quotas(app_ids: Sequence[str], limit: int, turn: int) -> tuple[list[str], int]:
    """Which apps to serve this round and how many rows each may take.

    With more due apps than rows in a batch, each gets one row and the starting
    app rotates from claim to claim, so every app is served within a few batches.
    """
    if len(app_ids) > limit:
        start = (turn * limit) % len(app_ids)
        rotated = [*app_ids[start:], *app_ids[:start]]
        return rotated[:limit], 1
    return list(app_ids), max(1, math.ceil(limit / max(1, len(app_ids))))


def unused_capacity(rows: Sequence[Any], quota: int, limit: int) -> int:
    """Rows the batch may still take: only worth asking when some app filled its quota."""
    taken = Counter(row.app_id for row in rows)
    if len(rows) >= limit or not any(count >= quota for count in taken.values()):
        return 0
    return limit - len(rows)


# --- SQLite: one BEGIN IMMEDIATE transaction, a statement per app -------------

_SQLITE_PER_APP = text(
    """
    UPDATE deliveries SET state = 'sending', due_at = :lease_until, lease_owner = :owner
    WHERE id IN (
        SELECT id FROM deliveries
        WHERE app_id = :app_id AND due_at IS NOT NULL AND due_at <= :now
        ORDER BY lane, due_at
        LIMIT :quota
    )
    RETURNING id, notification_id, app_id, device_id, user_id, channel, attempts, replays,
              accepted_at, last_reason
    """
)

_SQLITE_FILL = text(
    """
    UPDATE deliveries SET state = 'sending', due_at = :lease_until, lease_owner = :owner
    WHERE id IN (
        SELECT id FROM deliveries
        WHERE due_at IS NOT NULL AND due_at <= :now
        ORDER BY lane, due_at
        LIMIT :rest
    )
    RETURNING id, notification_id, app_id, device_id, user_id, channel, attempts, replays,
              accepted_at, last_reason
    """
)


def claim_sqlite(conn: Connection, request: ClaimRequest, turn: int, apps_due: Sequence[str]) -> list[Any]:
    """Claim from `apps_due` (found before the write lock; a late-comer is served next claim)."""
    served, quota = quotas(apps_due, request.limit, turn)
    rows: list[Any] = []
    for app_id in served:
        params = {**request.params(), "app_id": app_id, "quota": quota}
        rows.extend(conn.execute(_SQLITE_PER_APP, params))
    rest = unused_capacity(rows, quota, request.limit)
    if rest:
        rows.extend(conn.execute(_SQLITE_FILL, {**request.params(), "rest": rest}))
    return rows


# --- PostgreSQL: one statement claims the quotas and joins the device ---------

_PG_TARGET_COLUMNS = {
    "token": String,
    "subscription": JSON,
    "device_active": Boolean,
    "timezone": String,
    "accepted_at": Float,
}


# Claim the ids chosen by `{picked}` (one of the constant selects below) and
# return them with their device in one round-trip.
_PG_CLAIM = """
    WITH picked AS ({picked}),
    claimed AS (
        UPDATE deliveries SET state = 'sending', due_at = :lease_until, lease_owner = :owner
        FROM picked WHERE deliveries.id = picked.id
        RETURNING deliveries.id, deliveries.notification_id, deliveries.app_id, deliveries.device_id,
                  deliveries.user_id, deliveries.channel, deliveries.attempts, deliveries.replays,
                  deliveries.accepted_at, deliveries.last_reason
    )
    SELECT c.*, dv.token, dv.subscription, coalesce(dv.active, false) AS device_active,
           coalesce(dv.timezone, u.timezone) AS timezone
    FROM claimed c
    LEFT JOIN devices dv ON dv.id = c.device_id
    LEFT JOIN users u ON u.id = dv.user_id
"""


def _pg_claim(picked: str) -> Any:
    return text(_PG_CLAIM.format(picked=picked)).columns(**_PG_TARGET_COLUMNS)


_PG_PER_APP = _pg_claim(
    """
    SELECT d.id FROM unnest(CAST(:app_ids AS varchar[])) AS a(app_id)
    CROSS JOIN LATERAL (
        SELECT id FROM deliveries
        WHERE deliveries.app_id = a.app_id AND due_at IS NOT NULL AND due_at <= :now
        ORDER BY lane, due_at
        LIMIT :quota
        FOR UPDATE SKIP LOCKED
    ) d
    """
)

_PG_FILL = _pg_claim(
    """
    SELECT id FROM deliveries
    WHERE due_at IS NOT NULL AND due_at <= :now
    ORDER BY lane, due_at
    LIMIT :rest
    FOR UPDATE SKIP LOCKED
    """
)


def claim_postgres(conn: Connection, request: ClaimRequest, turn: int) -> list[Any]:
    served, quota = quotas(due_apps(conn, request.now), request.limit, turn)
    if not served:
        return []
    rows = list(conn.execute(_PG_PER_APP, {**request.params(), "app_ids": served, "quota": quota}))
    rest = unused_capacity(rows, quota, request.limit)
    if rest:
        rows.extend(conn.execute(_PG_FILL, {**request.params(), "rest": rest}))
    return rows
