"""Delivery receipts: each app's receiver, and the outbox of receipts waiting to be posted.

Receipts enter the outbox in the transaction that commits what they report (a
batch of outcomes, a fallback step), so a process that dies after the commit
cannot lose them. The outbox is a small queue of its own, claimed with a lease
like deliveries: a sender that dies mid-post leaves its rows to come back when the
lease runs out, so a receipt is posted at least once. Receivers de-duplicate by
(delivery_id, type).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Float,
    String,
    bindparam,
    delete,
    exists,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.domain.clock import Clock
from pushwise.store.db import Database
from pushwise.store.schema import deliveries, receipt_endpoints, receipt_outbox
from pushwise.store.sealing import Sealer
from pushwise.store.upsert import upsert_into


@dataclass(frozen=True, slots=True)
class ReceiptEndpoint:
    app_id: str
    url: str
    secret: str
    events: tuple[str, ...]
    updated_at: float


@dataclass(frozen=True, slots=True)
class PendingReceipt:
    id: int
    app_id: str
    event: dict[str, Any]
    attempts: int
    created_at: float


@dataclass(frozen=True, slots=True)
class OutcomeReceipt:
    """A receipt for the outcome being recorded for `delivery_id`, which sets `state`."""

    app_id: str
    delivery_id: int
    state: str
    event: dict[str, Any]


def receipt_secret_context(app_id: str) -> bytes:
    return f"receipt-secret:{app_id}".encode()


_CLAIM = text(
    """
    UPDATE receipt_outbox SET due_at = :lease_until
    WHERE id IN (SELECT id FROM receipt_outbox WHERE due_at <= :now ORDER BY id LIMIT :limit)
    RETURNING id, app_id, event, attempts, created_at
    """
).columns(
    receipt_outbox.c.id,
    receipt_outbox.c.app_id,
    receipt_outbox.c.event,
    receipt_outbox.c.attempts,
    receipt_outbox.c.created_at,
)


class ReceiptEndpoints:
    """Receivers per app; the signing secret is sealed at rest like provider credentials."""

    def __init__(self, db: Database, clock: Clock, sealer: Sealer) -> None:
        self._db = db
        self._clock = clock
        self._sealer = sealer

    async def put_endpoint(
        self, app_id: str, url: str, secret: str, events: Sequence[str]
    ) -> ReceiptEndpoint:
        now = self._clock.now()
        values = {
            "app_id": app_id,
            "url": url,
            "secret": self._sealer.seal(secret.encode(), receipt_secret_context(app_id)),
            "events": list(events),
            "updated_at": now,
        }
        statement = upsert_into(self._db, receipt_endpoints).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[receipt_endpoints.c.app_id],
            set_={k: v for k, v in values.items() if k != "app_id"},
        )
        async with self._db.writing() as conn:
            await conn.execute(statement)
        return ReceiptEndpoint(app_id, url, secret, tuple(events), now)

    async def endpoint(self, app_id: str) -> ReceiptEndpoint | None:
        async with self._db.read.connect() as conn:
            row = (
                await conn.execute(select(receipt_endpoints).where(receipt_endpoints.c.app_id == app_id))
            ).first()
        if row is None:
            return None
        secret = self._sealer.open(row.secret, receipt_secret_context(app_id)).decode()
        return ReceiptEndpoint(app_id, row.url, secret, tuple(row.events), row.updated_at)

    async def delete_endpoint(self, app_id: str) -> bool:
        async with self._db.writing() as conn:
            result = await conn.execute(delete(receipt_endpoints).where(receipt_endpoints.c.app_id == app_id))
        return bool(result.rowcount)


class ReceiptOutbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def subscriptions(self, app_id: str) -> frozenset[str]:
        """The event types the app asked receipts for (empty when it has no receiver)."""
        async with self._db.read.connect() as conn:
            events = await conn.scalar(
                select(receipt_endpoints.c.events).where(receipt_endpoints.c.app_id == app_id)
            )
        return frozenset(events or ())

    async def claim(self, *, now: float, lease_seconds: float, limit: int) -> list[PendingReceipt]:
        async with self._db.writing() as conn:
            rows = await conn.execute(
                _CLAIM, {"now": now, "lease_until": now + lease_seconds, "limit": limit}
            )
            return sorted(
                (PendingReceipt(r.id, r.app_id, r.event, r.attempts, r.created_at) for r in rows),
                key=lambda p: p.id,
            )

    async def sent(self, receipt_ids: Sequence[int]) -> None:
        if receipt_ids:
            async with self._db.writing() as conn:
                await conn.execute(delete(receipt_outbox).where(receipt_outbox.c.id.in_(receipt_ids)))

    async def retry_later(self, retries: Sequence[tuple[int, int, float]]) -> None:
        """(id, attempts made, next try) per receipt the receiver did not take."""
        if retries:
            statement = (
                update(receipt_outbox)
                .where(receipt_outbox.c.id == bindparam("b_id"))
                .values(attempts=bindparam("b_attempts"), due_at=bindparam("b_due"))
            )
            async with self._db.writing() as conn:
                await conn.execute(
                    statement, [{"b_id": i, "b_attempts": a, "b_due": due} for i, a, due in retries]
                )


async def add_receipts(
    conn: AsyncConnection, app_id: str, events: Sequence[dict[str, Any]], now: float
) -> None:
    """Queue receipts in the caller's transaction, which commits what they report."""
    if events:
        await conn.execute(
            insert(receipt_outbox),
            [
                {"app_id": app_id, "event": event, "created_at": now, "due_at": now, "attempts": 0}
                for event in events
            ],
        )


def add_outcome_receipts(conn: Connection, receipts: Sequence[OutcomeReceipt], now: float) -> None:
    """Queue outcome receipts in the transaction that records the outcomes (`DeliveryQueue.record`).

    Each row is written only if its outcome was: the delivery now has that state,
    stamped `now`. An outcome the lease guard rejected (another worker took the
    delivery over) gets no receipt; the new owner's outcome will have one.
    """
    if receipts:
        conn.execute(
            _ADD_OUTCOME_RECEIPT,
            [
                {
                    "b_app": r.app_id,
                    "b_event": r.event,
                    "b_now": now,
                    "b_id": r.delivery_id,
                    "b_state": r.state,
                }
                for r in receipts
            ],
        )


_ADD_OUTCOME_RECEIPT = insert(receipt_outbox).from_select(
    ["app_id", "event", "created_at", "due_at", "attempts"],
    select(
        bindparam("b_app", type_=String),
        bindparam("b_event", type_=JSON),
        bindparam("b_now", type_=Float),
        bindparam("b_now", type_=Float),
        literal(0),
    ).where(
        exists().where(
            deliveries.c.id == bindparam("b_id"),
            deliveries.c.state == bindparam("b_state"),
            deliveries.c.outcome_at == bindparam("b_now", type_=Float),
        )
    ),
)
