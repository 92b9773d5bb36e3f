"""Planning fallback deliveries in the database, once per step, whatever retries happen.

Each step is a row in `fallback_steps` keyed by (notification, user, step), written
in the same transaction as the deliveries it plans and the `fallback` state of the
deliveries it replaces (and the `fallback` delivery receipts the app asked for).
Planning the same step twice (a listener re-run, two workers finishing a user's
last two devices at once) conflicts on that key and rolls back whole, so
at-least-once processing never makes two fallback rows, nor two receipts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.domain.fallback import (
    ENDED_UNDELIVERED,
    PLATFORM_OF_CHANNEL,
    USER_CHANNELS,
    first_user_channel,
    remaining_steps,
    unreached,
)
from pushwise.domain.states import DeliveryState
from pushwise.store.db import Database
from pushwise.store.events import DeliveryEvent, append_events
from pushwise.store.receipts import add_receipts
from pushwise.store.schema import deliveries, devices, fallback_steps, users

# The columns every planner fills when it creates deliveries with INSERT ... SELECT.
PLANNED_COLUMNS = [
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
class GaveUp:
    """A delivery that ended undelivered: where the sweep resumes, and whom it concerns."""

    outcome_at: float
    delivery_id: int
    notification_id: str
    app_id: str
    user_id: str


# Spelled as in the partial index `ix_deliveries_gave_up`, so both engines see the query can use it.
_ENDED_UNDELIVERED = text("deliveries.state IN ('failed', 'expired', 'fallback')")


def ended_undelivered_after(after: tuple[float, int], until: float) -> ColumnElement[bool]:
    """Deliveries that ended undelivered (replaced by a fallback step or not) after `after`
    (outcome time, id) and by `until`: a keyset page."""
    at, delivery_id = after
    return and_(
        _ENDED_UNDELIVERED,
        (deliveries.c.outcome_at > at) | ((deliveries.c.outcome_at == at) & (deliveries.c.id > delivery_id)),
        deliveries.c.outcome_at <= until,
    )


@dataclass(frozen=True, slots=True)
class FallbackTaken:
    notification_id: str
    user_id: str
    step: int
    channel: str
    deliveries: int
    replaced: tuple[int, ...]


# The receipt events (one per replaced delivery) a step owes its app, given the step and its time.
FallbackReceipts = Callable[[FallbackTaken, float], list[dict[str, Any]]]


class FallbackRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def gave_up(self, *, after: tuple[float, int], until: float, limit: int) -> list[GaveUp]:
        """Deliveries to users that gave up after `after`, up to `until`, oldest first, whose
        user has nothing of the notification left pending or delivered: fallback candidates.

        Whether a next step exists is for the planner to say (it knows the spec's channels).
        """
        alive = deliveries.alias("alive")
        still_reaching = exists().where(
            alive.c.notification_id == deliveries.c.notification_id,
            alive.c.user_id == deliveries.c.user_id,
            alive.c.state.not_in(sorted(state.value for state in ENDED_UNDELIVERED)),
        )
        query = (
            select(
                deliveries.c.outcome_at,
                deliveries.c.id,
                deliveries.c.notification_id,
                deliveries.c.app_id,
                deliveries.c.user_id,
            )
            .where(
                ended_undelivered_after(after, until),
                deliveries.c.state != DeliveryState.FALLBACK.value,  # already followed by a step
                deliveries.c.user_id.is_not(None),
                ~still_reaching,
            )
            .order_by(deliveries.c.outcome_at, deliveries.c.id)
            .limit(limit)
        )
        async with self._db.read.connect() as conn:
            rows = await conn.execute(query)
            return [GaveUp(r.outcome_at, r.id, r.notification_id, r.app_id, r.user_id) for r in rows]

    async def advance(
        self, user: Unreached, now: float, *, receipts: FallbackReceipts | None = None
    ) -> FallbackTaken | None:
        """Plan the next step for `user` if they are still unreached; None if nothing was planned.

        `receipts` words the step's receipts, committed with it (None: the app wants none).
        """
        try:
            async with self._db.writing() as conn:
                taken = await self._advance(conn, user, now)
                if taken is not None and receipts is not None:
                    await add_receipts(conn, user.app_id, receipts(taken, now), now)
                return taken
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
        devices.c.vendor.is_(None),  # a phone maker's token is never FCM's
        devices.c.active,
    )
    result = await conn.execute(insert(deliveries).from_select(PLANNED_COLUMNS, audience))
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


def plan_deviceless_users(
    conn: Connection,
    *,
    notification_id: str,
    app_id: str,
    user_ids: Sequence[str],
    everyone: bool,
    channels: tuple[str, ...],
    lane: int,
    due_at: float,
    now: float,
    segment: ColumnElement[bool] | None = None,
) -> int:
    """At acceptance: targeted users with no active device go straight to their first user channel.

    `segment` is a condition on `users` (a compiled segment rule) that also targets users.
    """
    first = first_user_channel(channels)
    if first is None or not (user_ids or everyone or segment is not None):
        return 0
    step, channel = first
    has_device = exists().where(and_(devices.c.user_id == users.c.id, devices.c.active))
    condition = and_(users.c.app_id == app_id, ~has_device)
    if not everyone:
        targeted: list[ColumnElement[bool]] = [users.c.external_id.in_(user_ids)] if user_ids else []
        if segment is not None:
            targeted.append(segment)
        condition = and_(condition, or_(*targeted))
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
    result = conn.execute(insert(deliveries).from_select(PLANNED_COLUMNS, audience))
    planned = int(result.rowcount or 0)
    if planned:
        steps = select(
            literal(notification_id), users.c.id, literal(step), literal(channel), literal(1), literal(now)
        ).where(condition)
        conn.execute(
            insert(fallback_steps).from_select(
                ["notification_id", "user_id", "step", "channel", "deliveries", "at"], steps
            )
        )
    return planned
