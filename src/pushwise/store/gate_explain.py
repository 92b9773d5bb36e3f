"""What `explain` reads beyond a batch's state: where a notification to a user would go, and
an existing delivery as the gate met it (the dashboard explains any delivery again)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from pushwise.store.queue import ClaimedDelivery
from pushwise.store.routes import device_channel
from pushwise.store.schema import deliveries, devices, notifications


@dataclass(frozen=True, slots=True)
class ExplainTarget:
    """Where a notification to the user would go: a device (its channel and zone), else the inbox."""

    device_id: str | None
    channel: str
    timezone: str | None


def explain_target(
    conn: Connection, app_id: str, user_id: str, device_id: str | None
) -> ExplainTarget | None:
    """The named device of the user, else their oldest active one; None: no such device."""
    query = (
        select(devices.c.id, device_channel().label("channel"), devices.c.timezone)
        .where(devices.c.app_id == app_id, devices.c.user_id == user_id, devices.c.active)
        .order_by(devices.c.created_at, devices.c.id)
        .limit(1)
    )
    if device_id is not None:
        query = query.where(devices.c.id == device_id)
    row = conn.execute(query).first()
    if row is None:
        return None if device_id is not None else ExplainTarget(None, "inbox", None)
    return ExplainTarget(row.id, row.channel, row.timezone)


@dataclass(frozen=True, slots=True)
class KnownDelivery:
    """A delivery as the gate met (or would meet) it, for explaining it again."""

    claimed: ClaimedDelivery
    spec: dict[str, Any]
    created_at: float
    expires_at: float | None


def known_delivery(
    conn: Connection, app_id: str, notification_id: str, delivery_id: int
) -> KnownDelivery | None:
    row = conn.execute(
        select(
            deliveries.c.id,
            deliveries.c.device_id,
            deliveries.c.user_id,
            deliveries.c.channel,
            deliveries.c.attempts,
            deliveries.c.replays,
            deliveries.c.accepted_at,
            deliveries.c.last_reason,
            devices.c.timezone,
            notifications.c.spec,
            notifications.c.created_at,
            notifications.c.expires_at,
        )
        .select_from(
            deliveries.join(notifications, notifications.c.id == deliveries.c.notification_id).outerjoin(
                devices, devices.c.id == deliveries.c.device_id
            )
        )
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.notification_id == notification_id,
            deliveries.c.app_id == app_id,
        )
    ).first()
    if row is None:
        return None
    claimed = ClaimedDelivery(
        id=row.id,
        notification_id=notification_id,
        app_id=app_id,
        device_id=row.device_id,
        user_id=row.user_id,
        channel=row.channel,
        attempts=row.attempts,
        replays=row.replays,
        accepted_at=row.accepted_at,
        token=None,
        subscription=None,
        device_active=True,
        timezone=row.timezone,
        last_reason=row.last_reason,
    )
    return KnownDelivery(claimed, dict(row.spec), row.created_at, row.expires_at)
