"""The user-event log (`POST /v1/events`) and the profile learning it drives, in one transaction.

A batch is stored whole or not at all: a reference to a notification or delivery the
app does not have refuses the batch, and nothing of it is kept. Within the batch's
transaction the new events (a repeated event id is stored once; the first one wins)
are inserted and their profile deltas (`domain/audience/learning.py`) added to
interests, engagement, activity and open propensity with a handful of multi-row
statements, whatever the batch's size. Decay happens in SQL (`exp`), so concurrent
batches on PostgreSQL never read-modify-write a profile, and every statement writes
its rows in key order, so two batches lock the same profiles in the same order.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, select, update

from pushwise.domain.audience.decay import LN2
from pushwise.domain.audience.event_types import FEEDBACK_EVENTS
from pushwise.domain.audience.learning import LearnedEvent, LearningOptions, ProfileDeltas, learn
from pushwise.store.campaigns import enter_and_exit
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.engagement import decayed_sum, engagement_upsert, later, propensity_update
from pushwise.store.schema import (
    channel_unsubscribes,
    deliveries,
    feedback_counts,
    notifications,
    user_events,
    user_interests,
    users,
)
from pushwise.store.send_hours import add_send_hours
from pushwise.store.upsert import dialect_insert, insert_for
from pushwise.store.users import ensure_user_ids

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event as the API validated it; `index` is its place in the request (for errors)."""

    index: int
    key: str
    type: str
    user: str  # the app's external user id
    at: float
    notification_id: str | None = None
    delivery_id: int | None = None
    category: str | None = None
    value: float | None = None
    currency: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int
    late: int


class EventRefused(Exception):
    """An event names something the app does not have; the whole batch is refused."""

    def __init__(self, index: int, field_name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = f"events[{index}].{field_name}"
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class _Reference:
    """What an event answering a push inherits from it."""

    notification_id: str
    category: str | None
    campaign: str | None
    template: str | None
    channel: str | None = None


def item_named(properties: Mapping[str, Any]) -> str | None:
    """The catalogue item a behaviour event is about: `properties.item_id` (a string or number)."""
    item = properties.get("item_id")
    if isinstance(item, str | int) and not isinstance(item, bool) and 0 < len(str(item)) <= 128:
        return str(item)
    return None


class UserEventLog:
    def __init__(self, db: Database, options: LearningOptions, *, late_window: float) -> None:
        self._db = db
        self._options = options
        self._late_window = late_window

    async def record_click(self, app_id: str, delivery_id: int, url: str, now: float) -> bool:
        """A click through the redirect: a `clicked` event for the delivery's user, once per link.

        False when the delivery (or its user) is gone, e.g. erased: nothing to record.
        """
        query = (
            select(users.c.external_id)
            .select_from(deliveries.join(users, users.c.id == deliveries.c.user_id))
            .where(deliveries.c.id == delivery_id, deliveries.c.app_id == app_id)
        )
        async with self._db.read.connect() as conn:
            external_id = await conn.scalar(query)
        if external_id is None:
            return False
        link = hashlib.sha256(url.encode()).hexdigest()[:16]
        click = NewEvent(
            index=0,
            key=f"click:{delivery_id}:{link}",
            type="clicked",
            user=external_id,
            at=now,
            delivery_id=delivery_id,
            properties={"url": url, "via": "redirect"},
        )
        await self.ingest(app_id, [click], now)
        return True

    async def ingest(self, app_id: str, events: Sequence[NewEvent], now: float) -> IngestResult:
        fresh = [event for event in events if event.at >= now - self._late_window]
        late = len(events) - len(fresh)
        unique = list({event.key: event for event in reversed(fresh)}.values())[::-1]  # first wins
        in_batch_repeats = len(fresh) - len(unique)
        if not unique:
            return IngestResult(0, in_batch_repeats, late)
        stored = await self._db.transact(lambda conn: _ingest(conn, app_id, unique, now, self._options))
        return IngestResult(stored, len(fresh) - stored, late)


def _ingest(
    conn: Connection, app_id: str, events: Sequence[NewEvent], now: float, options: LearningOptions
) -> int:
    references = _references(conn, app_id, events)
    user_ids = ensure_user_ids(conn, app_id, {event.user for event in events}, now)
    new = _insert_new(conn, app_id, events, user_ids, references, now)
    if not new:
        return 0
    learned = [
        LearnedEvent(
            user_ids[event.user],
            event.type,
            event.at,
            event.category or (references[event.index].category if event.index in references else None),
            event.value,
        )
        for event in new
    ]
    _apply(conn, app_id, learn(learned, options), options)
    add_send_hours(conn, app_id, learned)
    _count_feedback(conn, app_id, new, references)
    _unsubscribe(conn, app_id, new, user_ids, references, now)
    enter_and_exit(conn, app_id, [(user_ids[e.user], e.type, e.at, _as_seen(e)) for e in new], now)
    return len(new)


def _as_seen(event: NewEvent) -> dict[str, Any]:
    """The event as a journey's templates see it (`event`)."""
    return {
        "id": event.key,
        "type": event.type,
        "at": event.at,
        "category": event.category,
        "value": event.value,
        "currency": event.currency,
        "notification_id": event.notification_id,
        "delivery_id": event.delivery_id,
        "item_id": item_named(event.properties),
        "properties": dict(event.properties),
    }


def _references(conn: Connection, app_id: str, events: Sequence[NewEvent]) -> dict[int, _Reference]:
    """The notification (and delivery) each event answers, by the event's index; unknown ones refuse."""
    if not any(e.delivery_id is not None or e.notification_id for e in events):
        return {}
    delivery_ids = sorted({e.delivery_id for e in events if e.delivery_id is not None})
    by_delivery: dict[int, Any] = {}
    for start in range(0, len(delivery_ids), _CHUNK):
        chunk = delivery_ids[start : start + _CHUNK]
        query = select(
            deliveries.c.id, deliveries.c.notification_id, deliveries.c.user_id, deliveries.c.channel
        ).where(deliveries.c.app_id == app_id, deliveries.c.id.in_(chunk))
        by_delivery.update({row.id: row for row in conn.execute(query)})
    notification_ids = sorted(
        {e.notification_id for e in events if e.notification_id}
        | {row.notification_id for row in by_delivery.values()}
    )
    by_notification: dict[str, Any] = {}
    for start in range(0, len(notification_ids), _CHUNK):
        named = notification_ids[start : start + _CHUNK]
        query = select(notifications.c.id, notifications.c.category, notifications.c.spec).where(
            notifications.c.app_id == app_id, notifications.c.id.in_(named)
        )
        by_notification.update({row.id: row for row in conn.execute(query)})
    found: dict[int, _Reference] = {}
    for event in events:
        delivery = None
        if event.delivery_id is not None:
            delivery = by_delivery.get(event.delivery_id)
            if delivery is None:
                raise EventRefused(event.index, "delivery_id", "unknown_delivery", "no such delivery")
        notification_id = delivery.notification_id if delivery is not None else event.notification_id
        if event.notification_id and notification_id != event.notification_id:
            raise EventRefused(
                event.index,
                "notification_id",
                "mismatched_notification",
                "the delivery is of another notification",
            )
        if notification_id is None:
            continue
        notification = by_notification.get(notification_id)
        if notification is None:
            raise EventRefused(event.index, "notification_id", "unknown_notification", "no such notification")
        spec = notification.spec or {}
        found[event.index] = _Reference(
            notification_id,
            notification.category,
            spec.get("campaign_id"),
            spec.get("template"),
            delivery.channel if delivery is not None else None,
        )
    if by_delivery:
        _check_delivery_users(conn, app_id, events, by_delivery)
    return found


def _check_delivery_users(
    conn: Connection, app_id: str, events: Sequence[NewEvent], by_delivery: Mapping[int, Any]
) -> None:
    """An event may only answer a delivery made to its own user (a client key speaks for one user)."""
    internal_of = {
        row.id: row.external_id
        for row in conn.execute(
            select(users.c.id, users.c.external_id).where(
                users.c.app_id == app_id,
                users.c.id.in_({row.user_id for row in by_delivery.values() if row.user_id}),
            )
        )
    }
    for event in events:
        if event.delivery_id is None:
            continue
        owner = by_delivery[event.delivery_id].user_id
        if owner is not None and internal_of.get(owner) != event.user:
            raise EventRefused(
                event.index, "delivery_id", "delivery_of_another_user", "the delivery went to another user"
            )


def _insert_new(
    conn: Connection,
    app_id: str,
    events: Sequence[NewEvent],
    user_ids: Mapping[str, str],
    references: Mapping[int, _Reference],
    now: float,
) -> list[NewEvent]:
    """Store the events not stored before; returns those (the ones that may teach the profile)."""
    rows = {
        event.key: {
            "app_id": app_id,
            "event_key": event.key,
            "user_id": user_ids[event.user],
            "type": event.type,
            "at": event.at,
            "received_at": now,
            "notification_id": references[event.index].notification_id if event.index in references else None,
            "delivery_id": event.delivery_id,
            "category": event.category,
            "value": event.value,
            "currency": event.currency,
            "properties": dict(event.properties),
            "item_id": item_named(event.properties),
        }
        for event in events
    }
    if conn.dialect.name == "sqlite":
        # One writer at a time: what the lookup does not find cannot appear before the insert.
        seen: set[str] = set()
        keys = list(rows)
        for start in range(0, len(keys), _CHUNK):
            query = select(user_events.c.event_key).where(
                user_events.c.app_id == app_id, user_events.c.event_key.in_(keys[start : start + _CHUNK])
            )
            seen.update(conn.execute(query).scalars())
        new_keys = [key for key in keys if key not in seen]
        if new_keys:
            run(conn, _INSERT_EVENT, [rows[key] for key in new_keys])
    else:
        # Concurrent batches may carry the same id: the unique index decides, and only the
        # rows this statement inserted come back.
        statement = (
            dialect_insert(conn, user_events)
            .on_conflict_do_nothing(index_elements=["app_id", "event_key"])
            .returning(user_events.c.event_key)
        )
        # Parameters as an executemany, never `.values(list)`: SQLAlchemy batches those rows itself
        # ("insertmanyvalues", RETURNING kept) with one cached compilation, where a multi-row
        # VALUES clause was compiled anew for every batch (most of the ingest's CPU).
        new_keys = list(conn.execute(statement, list(rows.values())).scalars())
    inserted = set(new_keys)
    return [event for event in events if event.key in inserted]


_INSERT_EVENT = user_events.insert()


@cache
def _interest_upsert(dialect: str, rate: float) -> Any:
    insert = insert_for(dialect, user_interests)
    excluded = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=["user_id", "category"],
        set_={
            "weight": decayed_sum(
                user_interests.c.weight, user_interests.c.at, excluded.weight, excluded.at, rate
            ),
            "at": later(user_interests.c.at, excluded.at),
        },
    )


_EVENT_COUNTERS = ("opened", "clicked", "dismissed", "converted", "revenue")


def _apply(conn: Connection, app_id: str, deltas: ProfileDeltas, options: LearningOptions) -> None:
    dialect = conn.dialect.name
    if deltas.interests:
        run(
            conn,
            _interest_upsert(dialect, LN2 / options.interest_half_life),
            [
                {
                    "user_id": user,
                    "category": category,
                    "app_id": app_id,
                    "weight": value.value,
                    "at": value.at,
                }
                for (user, category), value in sorted(deltas.interests.items())
            ],
        )
    if deltas.engagement:
        run(
            conn,
            engagement_upsert(dialect, _EVENT_COUNTERS),
            [
                {
                    "user_id": user,
                    "day": day,
                    "app_id": app_id,
                    "opened": counters.opened,
                    "clicked": counters.clicked,
                    "dismissed": counters.dismissed,
                    "converted": counters.converted,
                    "revenue": counters.revenue,
                }
                for (user, day), counters in sorted(deltas.engagement.items())
            ],
        )
    if deltas.activity:
        run(
            conn,
            _ACTIVITY,
            [
                {"b_user": user, "first": first, "last": last}
                for user, (first, last) in sorted(deltas.activity.items())
            ],
        )
    if deltas.opens:
        run(
            conn,
            propensity_update("opens", LN2 / options.propensity_half_life),
            [
                {"b_user": user, "amount": value.value, "b_at": value.at}
                for user, value in sorted(deltas.opens.items())
            ],
        )


_ACTIVITY = (
    update(users)
    .where(users.c.id == bindparam("b_user"))
    .values(
        first_seen_at=case(
            (users.c.first_seen_at.is_(None), bindparam("first")),
            (bindparam("first") < users.c.first_seen_at, bindparam("first")),
            else_=users.c.first_seen_at,
        ),
        last_active_at=case(
            (users.c.last_active_at.is_(None), bindparam("last")),
            (bindparam("last") > users.c.last_active_at, bindparam("last")),
            else_=users.c.last_active_at,
        ),
    )
)


def _count_feedback(
    conn: Connection, app_id: str, events: Sequence[NewEvent], references: Mapping[int, _Reference]
) -> None:
    """Feedback per notification, campaign, category and template, for the sender to see."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for event in events:
        if event.type not in FEEDBACK_EVENTS:
            continue
        reference = references.get(event.index)
        keys = {"category": event.category or (reference.category if reference else None)}
        if reference is not None:
            keys |= {
                "notification": reference.notification_id,
                "campaign": reference.campaign,
                "template": reference.template,
            }
        for dimension, key in keys.items():
            if key:
                counts[(dimension, key, event.type)] += 1
    if not counts:
        return
    insert = dialect_insert(conn, feedback_counts)
    statement = insert.on_conflict_do_update(
        index_elements=["app_id", "dimension", "key", "type"],
        set_={"count": feedback_counts.c.count + insert.excluded["count"]},
    )
    conn.execute(
        statement,
        [
            {"app_id": app_id, "dimension": dimension, "key": key, "type": kind, "count": count}
            for (dimension, key, kind), count in sorted(counts.items())
        ],
    )


def _unsubscribe(
    conn: Connection,
    app_id: str,
    events: Sequence[NewEvent],
    user_ids: Mapping[str, str],
    references: Mapping[int, _Reference],
    now: float,
) -> None:
    """An `unsubscribed` event names its channel (`properties.channel`) or answers a delivery of one."""
    rows = {}
    for event in events:
        if event.type != "unsubscribed":
            continue
        reference = references.get(event.index)
        channel = event.properties.get("channel") or (reference.channel if reference else None)
        if isinstance(channel, str) and channel:
            user = user_ids[event.user]
            rows[(user, channel)] = {"user_id": user, "channel": channel, "app_id": app_id, "at": now}
    if rows:
        statement = dialect_insert(conn, channel_unsubscribes).on_conflict_do_nothing(
            index_elements=["user_id", "channel"]
        )
        conn.execute(statement, [rows[key] for key in sorted(rows)])


_PRUNE_CHUNK = 10_000


async def prune_events(db: Database, *, before: float) -> int:
    """Delete raw events received before `before`, a chunk per transaction (the writer stays free)."""
    oldest = select(user_events.c.id).where(user_events.c.received_at < before).limit(_PRUNE_CHUNK)
    statement = delete(user_events).where(user_events.c.id.in_(oldest.scalar_subquery()))
    removed = 0
    while True:
        count = await db.transact(lambda conn: int(conn.execute(statement).rowcount or 0))
        removed += count
        if count < _PRUNE_CHUNK:
            return removed
