"""Notifications: durable acceptance, audience expansion in SQL, status and listings.

Acceptance writes the notification and all its deliveries in one transaction, so
once the API answers 202 nothing can be lost. The audience is expanded inside the
database with `INSERT ... SELECT`: a send to a million devices never loads a
million rows into Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Integer,
    String,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement

from pushwise.domain.audience.rules import InSegment, Rule
from pushwise.domain.states import DeliveryState
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.fallback import PLANNED_COLUMNS, plan_deviceless_users
from pushwise.store.ids import new_id
from pushwise.store.policies import app_routes
from pushwise.store.routes import CHANNEL_OF_PLATFORM, device_channel, first_of_installation, rank_params
from pushwise.store.schema import attempts, deliveries, devices, notifications, users
from pushwise.store.segment_sql import Compiled
from pushwise.store.segments import saved_rules, segment_condition
from pushwise.store.wakeups import announce_work

__all__ = ["CHANNEL_OF_PLATFORM", "NotificationRepository"]


@dataclass(frozen=True, slots=True)
class SegmentTarget:
    """`to.segment`: a saved segment's id, or a rule given inline (parsed, and as given)."""

    segment_id: str | None = None
    rule: Rule | None = None
    rule_json: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Target:
    user_ids: tuple[str, ...] = ()
    device_ids: tuple[str, ...] = ()
    everyone: bool = False
    segment: SegmentTarget | None = None


@dataclass(frozen=True, slots=True)
class NewNotification:
    app_id: str
    spec: dict[str, Any]
    target: Target
    priority: str
    lane: int
    category: str | None
    send_at: float | None
    expires_at: float | None
    idempotency_key: str | None
    request_hash: str | None
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    id: str
    recipients: int
    created_at: float
    replayed: bool = False


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


class UnknownDevices(Exception):
    def __init__(self, device_ids: Sequence[str]) -> None:
        super().__init__(", ".join(device_ids))
        self.device_ids = list(device_ids)


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: str
    app_id: str
    priority: str
    category: str | None
    created_at: float
    send_at: float | None
    expires_at: float | None
    recipients: int
    cancelled_at: float | None


class NotificationRepository:
    def __init__(self, db: Database, *, interest_half_life: float) -> None:
        self._db = db
        self._interest_half_life = interest_half_life

    async def accept(self, new: NewNotification, now: float) -> Accepted:
        if new.idempotency_key:
            previous = await self._find_by_key(new.app_id, new.idempotency_key)
            if previous is not None:
                return self._replay(previous, new)
        notification_id = new_id("ntf")
        target: dict[str, Any] = {
            "user_ids": list(new.target.user_ids),
            "device_ids": list(new.target.device_ids),
            "all": new.target.everyone,
        }
        row = {
            "id": notification_id,
            "app_id": new.app_id,
            "spec": new.spec,
            "target": target,
            "priority": new.priority,
            "category": new.category,
            "created_at": now,
            "send_at": new.send_at,
            "expires_at": new.expires_at,
            "recipients": 0,
            "idempotency_key": new.idempotency_key,
            "request_hash": new.request_hash,
            "cancelled_at": None,
            "campaign_id": new.campaign_id,
        }

        def write(conn: Connection) -> int:
            segment = self._segment(conn, new, now)
            if segment is not None:
                target["segment"] = segment[1]
            # The count of named active devices is usually the final count: one UPDATE saved.
            expected = _active_named_devices(conn, new)
            run(conn, _INSERT_NOTIFICATION, {**row, "recipients": expected})
            recipients = _expand(conn, notification_id, new, now, segment[0] if segment else None)
            if recipients != expected:
                run(conn, _SET_RECIPIENTS, {"b_id": notification_id, "recipients": recipients})
            if recipients:
                announce_work(conn)
            return recipients

        try:
            recipients = await self._db.transact(write, urgent=True)
        except IntegrityError:
            # A concurrent request with the same Idempotency-Key won the race.
            previous = await self._find_by_key(new.app_id, new.idempotency_key or "")
            if previous is None:
                raise
            return self._replay(previous, new)
        return Accepted(notification_id, recipients, now)

    def _segment(
        self, conn: Connection, new: NewNotification, now: float
    ) -> tuple[ColumnElement[bool], dict[str, Any]] | None:
        """The segment's condition on users, resolved and compiled at `now`, and its record.

        Resolved in the accepting transaction: the notification goes to the saved
        segments as they are when it is accepted, and records the rule it used.
        """
        segment = new.target.segment
        if segment is None:
            return None
        if segment.segment_id is not None:
            rule: Rule = InSegment(segment.segment_id, "to.segment.id")
            stored = saved_rules(conn, new.app_id, [segment.segment_id]).get(segment.segment_id)
            record = {"id": segment.segment_id, "rule": stored}
        else:
            assert segment.rule is not None
            rule, record = segment.rule, {"rule": segment.rule_json}
        at = Compiled(self._db.dialect, new.app_id, now, self._interest_half_life)
        return segment_condition(conn, at, rule), record

    async def _find_by_key(self, app_id: str, key: str) -> Any:
        async with self._db.read.connect() as conn:
            result = await conn.execute(
                select(
                    notifications.c.id,
                    notifications.c.recipients,
                    notifications.c.created_at,
                    notifications.c.request_hash,
                ).where(notifications.c.app_id == app_id, notifications.c.idempotency_key == key)
            )
            return result.first()

    @staticmethod
    def _replay(previous: Any, new: NewNotification) -> Accepted:
        if previous.request_hash != new.request_hash:
            raise IdempotencyConflict(new.idempotency_key)
        return Accepted(previous.id, previous.recipients, previous.created_at, replayed=True)

    async def get(self, app_id: str, notification_id: str) -> NotificationRow | None:
        async with self._db.read.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        notifications.c.id,
                        notifications.c.app_id,
                        notifications.c.priority,
                        notifications.c.category,
                        notifications.c.created_at,
                        notifications.c.send_at,
                        notifications.c.expires_at,
                        notifications.c.recipients,
                        notifications.c.cancelled_at,
                    ).where(notifications.c.id == notification_id, notifications.c.app_id == app_id)
                )
            ).first()
        return NotificationRow(**row._mapping) if row else None

    async def counts(self, notification_id: str) -> dict[str, int]:
        async with self._db.read.connect() as conn:
            rows = await conn.execute(
                select(deliveries.c.state, func.count())
                .where(deliveries.c.notification_id == notification_id)
                .group_by(deliveries.c.state)
            )
            found = {state: int(count) for state, count in rows}
        return {state.value: found.get(state.value, 0) for state in DeliveryState}

    async def specs(self, notification_ids: Sequence[str]) -> dict[str, Any]:
        """Spec, creation and expiry time per notification, for the dispatcher's cache."""
        params = {"ids": list(notification_ids)}
        return await self._db.query(lambda conn: {row.id: row for row in conn.execute(_SPECS, params)})

    async def cancel(self, app_id: str, notification_id: str, now: float) -> int | None:
        """Cancel what has not been sent yet; returns how many deliveries it stopped."""
        async with self._db.writing() as conn:
            found = await conn.execute(
                update(notifications)
                .where(notifications.c.id == notification_id, notifications.c.app_id == app_id)
                .values(cancelled_at=func.coalesce(notifications.c.cancelled_at, now))
            )
            if not found.rowcount:
                return None
            stopped = await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.notification_id == notification_id,
                    deliveries.c.state.in_(
                        [
                            DeliveryState.QUEUED.value,
                            DeliveryState.RETRYING.value,
                            DeliveryState.DEFERRED.value,
                        ]
                    ),
                )
                .values(
                    state=DeliveryState.CANCELLED.value, due_at=None, outcome_at=now, last_reason="Cancelled"
                )
            )
            return int(stopped.rowcount or 0)

    async def deliveries(
        self, app_id: str, notification_id: str, *, state: str | None, after_id: int, limit: int
    ) -> list[Any]:
        query = (
            select(
                deliveries.c.id,
                deliveries.c.device_id,
                deliveries.c.user_id,
                deliveries.c.channel,
                deliveries.c.state,
                deliveries.c.attempts,
                deliveries.c.last_reason,
                deliveries.c.last_status,
                deliveries.c.sent_at,
                deliveries.c.outcome_at,
                deliveries.c.due_at,
                deliveries.c.accepted_at,
                users.c.external_id.label("user_external_id"),
            )
            .select_from(deliveries.outerjoin(users, users.c.id == deliveries.c.user_id))
            .where(
                deliveries.c.notification_id == notification_id,
                deliveries.c.app_id == app_id,
                deliveries.c.id > after_id,
            )
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        if state:
            query = query.where(deliveries.c.state == state)
        async with self._db.read.connect() as conn:
            return list(await conn.execute(query))

    async def attempts_of(self, delivery_ids: Sequence[int]) -> dict[int, list[Any]]:
        if not delivery_ids:
            return {}
        async with self._db.read.connect() as conn:
            rows = await conn.execute(
                select(attempts)
                .where(attempts.c.delivery_id.in_(delivery_ids))
                .order_by(attempts.c.delivery_id, attempts.c.attempt)
            )
            trail: dict[int, list[Any]] = {}
            for row in rows:
                trail.setdefault(row.delivery_id, []).append(row)
            return trail


# Statements built once: constructing Core statements per request costs more than running them.
_INSERT_NOTIFICATION = insert(notifications)
_SET_RECIPIENTS = (
    update(notifications)
    .where(notifications.c.id == bindparam("b_id"))
    .values(recipients=bindparam("recipients"))
)
_SPECS = select(
    notifications.c.id, notifications.c.spec, notifications.c.created_at, notifications.c.expires_at
).where(notifications.c.id.in_(bindparam("ids", expanding=True)))
_KNOWN_DEVICES = select(devices.c.id, devices.c.active).where(
    devices.c.app_id == bindparam("app_id"), devices.c.id.in_(bindparam("device_ids", expanding=True))
)


def _active_named_devices(conn: Connection, new: NewNotification) -> int:
    """Refuse devices this app does not have; count the active ones among those named."""
    wanted = set(new.target.device_ids)
    if not wanted:
        return 0
    found = list(run(conn, _KNOWN_DEVICES, {"app_id": new.app_id, "device_ids": list(wanted)}))
    missing = wanted - {device_id for device_id, _active in found}
    if missing:
        raise UnknownDevices(sorted(missing))
    return sum(1 for _device_id, active in found if active)


def _expand(
    conn: Connection,
    notification_id: str,
    new: NewNotification,
    now: float,
    segment: ColumnElement[bool] | None,
) -> int:
    target = new.target
    due_at = new.send_at if new.send_at is not None and new.send_at > now else now
    # Users with no active device skip their push channels: straight to inbox, e-mail or webhook.
    fallback_channels = tuple((new.spec.get("fallback") or {}).get("channels") or ())
    deviceless = plan_deviceless_users(
        conn,
        notification_id=notification_id,
        app_id=new.app_id,
        user_ids=target.user_ids,
        everyone=target.everyone,
        segment=segment,
        channels=fallback_channels,
        lane=new.lane,
        due_at=due_at,
        now=now,
    )
    if not (target.everyone or target.device_ids or target.user_ids or segment is not None):
        return deviceless
    params = {
        "notification_id": notification_id,
        "app_id": new.app_id,
        "lane": new.lane,
        "due_at": due_at,
        "now": now,
        "device_ids": list(target.device_ids),
        "user_ids": list(target.user_ids),
        **rank_params(app_routes(conn, new.app_id)),
    }
    shape = (target.everyone, bool(target.device_ids), bool(target.user_ids))
    if segment is None:
        return deviceless + int(run(conn, _audience_insert(*shape), params).rowcount or 0)
    # Built for this rule and moment: executed once, so not kept in the driver's statement cache.
    statement = _build_audience_insert(*shape, segment=segment)
    return deviceless + int(conn.execute(statement, params).rowcount or 0)


@lru_cache(maxsize=8)
def _audience_insert(everyone: bool, by_device: bool, by_user: bool) -> Executable:
    return _build_audience_insert(everyone, by_device, by_user, segment=None)


def _build_audience_insert(
    everyone: bool, by_device: bool, by_user: bool, *, segment: ColumnElement[bool] | None
) -> Executable:
    """`INSERT ... SELECT` of one delivery per active device in the audience, for one target shape.

    `segment` is a condition on `users`: the devices of the app's users it selects join in.
    """
    conditions: list[ColumnElement[bool]] = []
    if everyone:
        conditions.append(literal(True))
    if by_device:
        conditions.append(devices.c.id.in_(bindparam("device_ids", expanding=True)))
    if by_user:
        user_keys = select(users.c.id).where(
            users.c.app_id == bindparam("app_id"),
            users.c.external_id.in_(bindparam("user_ids", expanding=True)),
        )
        conditions.append(devices.c.user_id.in_(user_keys))
    if segment is not None:
        members = select(users.c.id).where(users.c.app_id == bindparam("app_id"), segment)
        conditions.append(devices.c.user_id.in_(members))
    audience = select(
        bindparam("notification_id", type_=String),
        devices.c.app_id,
        devices.c.id,
        devices.c.user_id,
        device_channel(),
        literal(DeliveryState.QUEUED.value),
        bindparam("lane", type_=Integer),
        literal(0),
        bindparam("due_at", type_=Float),
        bindparam("now", type_=Float),
    ).where(
        devices.c.app_id == bindparam("app_id"),
        devices.c.active,
        or_(*conditions),
        first_of_installation(),  # one delivery per installation: its first route
    )
    return insert(deliveries).from_select(PLANNED_COLUMNS, audience)
