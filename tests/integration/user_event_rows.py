"""Write user events straight into the user-event log, for tests of what reads it.

Stands in for `POST /v1/events` until that endpoint lands; the rows are what it stores
(one per client event id, `at` as given).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from pushwise.store.db import Database
from pushwise.store.schema import user_events
from pushwise.store.users import ensure_users

_keys = itertools.count()


@dataclass(frozen=True)
class Row:
    user: str  # external id
    type: str
    at: float
    value: float | None = None
    category: str | None = None
    key: str | None = None  # the client's event id; a fresh one when None


async def write_events(db: Database, app_id: str, rows: Sequence[Row], received_at: float) -> None:
    async with db.writing() as connection:
        ids = await ensure_users(connection, db, app_id, sorted({row.user for row in rows}), received_at)
        await connection.execute(
            user_events.insert(),
            [
                {
                    "app_id": app_id,
                    "event_key": row.key or f"evt-{next(_keys)}",
                    "user_id": ids[row.user],
                    "type": row.type,
                    "at": row.at,
                    "received_at": received_at,
                    "category": row.category,
                    "value": row.value,
                    "properties": {},
                }
                for row in rows
            ],
        )
