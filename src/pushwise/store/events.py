"""The delivery trail beyond attempts: content fallback, channel fallback, failure notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.store.db import Database
from pushwise.store.schema import delivery_events


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    notification_id: str
    app_id: str
    delivery_id: int | None
    kind: str
    at: float
    detail: dict[str, Any] = field(default_factory=dict)


def event_rows(events: Sequence[DeliveryEvent]) -> list[dict[str, Any]]:
    return [
        {
            "notification_id": e.notification_id,
            "app_id": e.app_id,
            "delivery_id": e.delivery_id,
            "kind": e.kind,
            "at": e.at,
            "detail": e.detail,
        }
        for e in events
    ]


async def append_events(conn: AsyncConnection, events: Sequence[DeliveryEvent]) -> None:
    """Write events inside a caller's transaction (with the change they describe)."""
    if events:
        await conn.execute(insert(delivery_events), event_rows(events))


class EventLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, events: Sequence[DeliveryEvent]) -> None:
        if events:
            async with self._db.writing() as conn:
                await append_events(conn, events)

    async def of_deliveries(self, delivery_ids: Sequence[int]) -> dict[int, list[Any]]:
        if not delivery_ids:
            return {}
        async with self._db.read.connect() as conn:
            rows = await conn.execute(
                select(delivery_events)
                .where(delivery_events.c.delivery_id.in_(delivery_ids))
                .order_by(delivery_events.c.id)
            )
            found: dict[int, list[Any]] = {}
            for row in rows:
                found.setdefault(row.delivery_id, []).append(row)
            return found
