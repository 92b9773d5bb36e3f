"""Planning fallback deliveries in the database, once per step, whatever retries happen.

Each step is a row in `fallback_steps` keyed by (notification, user, step), written
in the same transaction as the deliveries it plans and the `fallback` state of the
deliveries it replaces. Planning the same step twice (a listener re-run, two
workers finishing a user's last two devices at once) conflicts on that key and
rolls back whole, so at-least-once processing never makes two fallback rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.domain.fallback import (
    PLATFORM_OF_CHANNEL,
    USER_CHANNELS,
    first_user_channel,
    remaining_steps,
    unreached,
)
from pushwise.domain.states import DeliveryState
from pushwise.store.db import Database
from pushwise.store.events import DeliveryEvent, append_events
from pushwise.store.schema import deliveries, devices, fallback_steps, users

_DELIVERY_COLUMNS = [
    "notification_id",
    "app_id",
    "device_id",
    "user_id",
    "channel",
    "state",
    "lane",
    "attempts",
    "due_at",
    "accepted_at",
]


@dataclass(frozen=True, slots=True)
class Unreached:
    """One user of one notification whose last delivery just ended undelivered."""

    notification_id: str
    app_id: str
    user_id: str
    channels: tuple[str, ...]
    lane: int


@dataclass(frozen=True, slots=True)
class FallbackTaken:
    notification_id: str
    user_id: str
    step: int
    channel: str
    deliveries: int
    replaced: tuple[int, ...]


class FallbackRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def advance(self, user: Unreached, now: float) -> FallbackTaken | None:
        """Plan the next step for `user` if they are still unreached; None if nothing was planned."""
        try:
            async with self._db.write.begin() as conn:
                return await self._advance(conn, user, now)
        except IntegrityError:
            return None  # another worker planned this step first

    async def _advance(self, conn: AsyncConnection, user: Unreached, now: float) -> FallbackTaken | None:
        rows = list(
            await conn.execute(
                select(deliveries.c.id, deliveries.c.state, deliveries.c.channel).where(
                    deliveries.c.notification_id == user.notification_id,
                    deliveries.c.user_id == user.user_id,
                )
            )
        )
        if not unreached(row.state for row in rows):
            return None
        done = await conn.scalar(
            select(func.coalesce(func.max(fallback_steps.c.step), 0)).where(
                fallback_steps.c.notification_id == user.notification_id,
                fallback_steps.c.user_id == user.user_id,
            )
        )
        for step, channel in remaining_steps(user.channels, int(done or 0), {row.channel for row in rows}):
            planned = await _plan_channel(conn, user, channel, now)
            await conn.execute(
                insert(fallback_steps).values(
                    notification_id=user.notification_id,
                    user_id=user.user_id,
                    step=step,
                    channel=channel,
                    deliveries=planned,
                    at=now,
                )
            )
            if planned:
                replaced = tuple(row.id for row in rows if row.state != DeliveryState.FALLBACK.value)
                await _replace(conn, user, replaced, step, channel, now)
                return FallbackTaken(user.notification_id, user.user_id, step, channel, planned, replaced)
        return None


async def _plan_channel(conn: AsyncConnection, user: Unreached, channel: str, now: float) -> int:
    """Deliveries for one fallback channel: one for the user, or one per active device on it."""
    if channel in USER_CHANNELS:
        await conn.execute(
            insert(deliveries).values(
                notification_id=user.notification_id,
                app_id=user.app_id,
                device_id=None,
                user_id=user.user_id,
                channel=channel,
                state=DeliveryState.QUEUED.value,
                lane=user.lane,
                attempts=0,
                due_at=now,
                accepted_at=now,
            )
        )
        return 1
    audience = select(
        literal(user.notification_id),
        devices.c.app_id,
        devices.c.id,
        devices.c.user_id,
        literal(channel),
        literal(DeliveryState.QUEUED.value),
        literal(user.lane),
        literal(0),
        literal(now),
        literal(now),
    ).where(
        devices.c.app_id == user.app_id,
        devices.c.user_id == user.user_id,
        devices.c.platform == PLATFORM_OF_CHANNEL[channel],
        devices.c.active,
    )
    result = await conn.execute(insert(deliveries).from_select(_DELIVERY_COLUMNS, audience))
    return int(result.rowcount or 0)


async def _replace(
    conn: AsyncConnection, user: Unreached, replaced: Sequence[int], step: int, channel: str, now: float
) -> None:
    if not replaced:
        return
    await conn.execute(
        update(deliveries).where(deliveries.c.id.in_(replaced)).values(state=DeliveryState.FALLBACK.value)
    )
    detail: dict[str, Any] = {"channel": channel, "step": step}
    await append_events(
        conn,
        [
            DeliveryEvent(user.notification_id, user.app_id, delivery_id, "fallback", now, detail)
            for delivery_id in replaced
        ],
    )


async def plan_deviceless_users(
    conn: AsyncConnection,
    *,
    notification_id: str,
    app_id: str,
    user_ids: Sequence[str],
    everyone: bool,
    channels: tuple[str, ...],
    lane: int,
    due_at: float,
    now: float,
) -> int:
    """At acceptance: targeted users with no active device go straight to their first user channel."""
    first = first_user_channel(channels)
    if first is None or not (user_ids or everyone):
        return 0
    step, channel = first
    has_device = exists().where(and_(devices.c.user_id == users.c.id, devices.c.active))
    condition = and_(users.c.app_id == app_id, ~has_device)
    if not everyone:
        condition = and_(condition, users.c.external_id.in_(user_ids))
    audience = select(
        literal(notification_id),
        users.c.app_id,
        null(),
        users.c.id,
        literal(channel),
        literal(DeliveryState.QUEUED.value),
        literal(lane),
        literal(0),
        literal(due_at),
        literal(now),
    ).where(condition)
    result = await conn.execute(insert(deliveries).from_select(_DELIVERY_COLUMNS, audience))
    planned = int(result.rowcount or 0)
    if planned:
        steps = select(
            literal(notification_id), users.c.id, literal(step), literal(channel), literal(1), literal(now)
        ).where(condition)
        await conn.execute(
            insert(fallback_steps).from_select(
                ["notification_id", "user_id", "step", "channel", "deliveries", "at"], steps
            )
        )
    return planned
