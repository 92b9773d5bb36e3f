"""What operators look at and act on: recent notifications, dead letters (with replay), pruned devices."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from pushwise.domain.states import DeliveryState
from pushwise.store.db import Database
from pushwise.store.schema import deliveries, devices, notifications


class OperationsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def recent_notifications(self, app_id: str, *, limit: int = 50) -> list[Any]:
        n = notifications.c
        query = (
            select(n.id, n.created_at, n.priority, n.category, n.recipients, n.cancelled_at, n.spec)
            .where(n.app_id == app_id)
            .order_by(n.created_at.desc())
            .limit(limit)
        )
        async with self._db.read.connect() as conn:
            return list(await conn.execute(query))

    async def notification(self, app_id: str, notification_id: str) -> Any | None:
        n = notifications.c
        query = select(notifications).where(n.app_id == app_id, n.id == notification_id)
        async with self._db.read.connect() as conn:
            return (await conn.execute(query)).first()

    async def dead_letters(self, app_id: str, *, limit: int = 100) -> list[Any]:
        """Failed deliveries, newest first."""
        d = deliveries.c
        query = (
            select(
                d.id,
                d.notification_id,
                d.device_id,
                d.channel,
                d.attempts,
                d.last_reason,
                d.last_status,
                d.outcome_at,
            )
            .where(d.app_id == app_id, d.state == DeliveryState.FAILED.value)
            .order_by(d.outcome_at.desc(), d.id.desc())
            .limit(limit)
        )
        async with self._db.read.connect() as conn:
            return list(await conn.execute(query))

    async def replay(self, app_id: str, delivery_ids: Sequence[int], now: float) -> Counter[str]:
        """Queue failed deliveries again, due now; returns how many per channel.

        Attempts are kept, so the trail shows the replay; `replays` counts it, so
        metrics count the delivery's next outcome apart from its first.
        """
        if not delivery_ids:
            return Counter()
        d = deliveries.c
        async with self._db.writing() as conn:
            result = await conn.execute(
                update(deliveries)
                .where(d.app_id == app_id, d.id.in_(delivery_ids), d.state == DeliveryState.FAILED.value)
                .values(
                    state=DeliveryState.QUEUED.value,
                    due_at=now,
                    outcome_at=None,
                    lease_owner=None,
                    replays=d.replays + 1,
                )
                .returning(d.channel)
            )
            return Counter(result.scalars())

    async def pruned_devices(self, app_id: str, *, limit: int = 100) -> list[Any]:
        v = devices.c
        query = (
            select(
                v.id,
                v.platform,
                v.user_id,
                v.deactivated_reason,
                v.deactivated_at,
                func.substr(v.token, 1, 12),
            )
            .where(v.app_id == app_id, v.active.is_(False))
            .order_by(v.deactivated_at.desc())
            .limit(limit)
        )
        async with self._db.read.connect() as conn:
            return list(await conn.execute(query))
