"""The durable delivery queue: claim with a lease, record outcomes, give back.

A pending delivery carries `due_at`, the moment the queue may claim it. Claiming
sets `state = sending` and moves `due_at` to the end of the lease, so a delivery
whose worker died is simply due again when its lease runs out: no separate reaper.
Final states clear `due_at`, which drops the row from the partial claim index.
A worker whose batch is still in flight pushes its lease forward (`extend`), so
only a dead or cut-off worker's claims are taken over.

Claims and outcomes are written in batches, one transaction each, through the
single write connection (SQLite) or the pool (PostgreSQL). How a claim shares a
batch between apps, per engine, is in `claims.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from pushwise.domain.states import DeliveryState
from pushwise.domain.values import frozen_value
from pushwise.store.claims import ClaimRequest, claim_postgres, claim_sqlite, due_apps
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.gate_ledger import release_slots
from pushwise.store.receipts import OutcomeReceipt, add_outcome_receipts
from pushwise.store.schema import attempts, deliveries, devices, users
from pushwise.store.wakeups import announce_work


@frozen_value
class ClaimedDelivery:
    id: int
    notification_id: str
    app_id: str
    device_id: str | None
    user_id: str | None
    channel: str
    attempts: int
    replays: int  # dead-letter replays so far: its final outcome is counted apart (monitoring)
    accepted_at: float
    token: str | None
    subscription: dict[str, Any] | None
    device_active: bool
    timezone: str | None
    last_reason: str | None = None  # why it was last put back (the gate's pacing keeps its slot)


@frozen_value
class DeliveryUpdate:
    """The result of handling one claimed delivery, written back in a batch."""

    delivery_id: int
    state: DeliveryState
    attempts: int
    due_at: float | None
    reason: str | None
    provider_status: int | None = None
    provider_message_id: str | None = None
    sent: bool = False
    attempt_outcome: str | None = None  # set when a send was attempted: the outcome kind
    device_to_deactivate: str | None = None
    decision: str | None = None  # the gate's, when it held the delivery back: "suppress" | "defer"
    reroute_to: tuple[str, str] | None = None  # (device, channel): the installation's next route
    quota_spent: bool = False  # a vendor's daily quota was spent (not an attempt; counted apart)


class DeliveryQueue:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._turn = 0

    async def claim(
        self, owner: str, *, limit: int, now: float, lease_seconds: float
    ) -> list[ClaimedDelivery]:
        """Claim up to `limit` due deliveries, shared fairly between apps, lowest lane first."""
        request = ClaimRequest(owner, limit, now, now + lease_seconds)
        self._turn += 1
        turn = self._turn
        if self._db.is_sqlite:
            # Look for due work on the reader first: SQLite has one writer, and an
            # idle poll must not take the write lock from the API accepting new work.
            apps_due = await self._db.query(lambda conn: due_apps(conn, now))
            if not apps_due:
                return []

            def claim_and_read_targets(conn: Connection) -> list[ClaimedDelivery]:
                rows = claim_sqlite(conn, request, turn, apps_due)
                return _claimed_batch(rows, _sqlite_targets(conn, rows))

            return await self._db.transact(claim_and_read_targets)

        def claim_joined(conn: Connection) -> list[ClaimedDelivery]:
            rows = claim_postgres(conn, request, turn)
            return _claimed_batch(rows, rows)  # the PostgreSQL claim joins the device in the same statement

        return await self._db.transact(claim_joined)

    async def extend(self, owner: str, delivery_ids: Sequence[int], lease_until: float) -> int:
        """Heartbeat: push the lease of our in-flight claims forward; returns how many are still ours."""
        if not delivery_ids:
            return 0
        params = {"delivery_ids": list(delivery_ids), "owner": owner, "lease_until": lease_until}

        def write(conn: Connection) -> int:
            return int(conn.execute(_EXTEND, params).rowcount or 0)

        return await self._db.transact(write)

    async def record(
        self,
        owner: str,
        updates: Sequence[DeliveryUpdate],
        now: float,
        *,
        receipts: Sequence[OutcomeReceipt] = (),
    ) -> None:
        """Write a batch of outcomes, and the delivery receipts they owe, in one transaction.

        The `lease_owner` guard means a worker whose lease ran out (and whose
        delivery another worker took over) cannot overwrite the new owner's result,
        nor send a receipt for it. No receipts, no extra statement.
        """
        if not updates:
            return
        delivery_rows = [
            {
                "b_id": u.delivery_id,
                "b_owner": owner,
                "state": u.state.value,
                "attempts": u.attempts,
                "due_at": u.due_at,
                "last_reason": u.reason,
                "last_status": u.provider_status,
                "provider_message_id": u.provider_message_id,
                "outcome_at": now if u.state.is_final else None,
                "sent_at": now if u.sent else None,
            }
            for u in updates
        ]
        attempt_rows = [
            {
                "delivery_id": u.delivery_id,
                "attempt": u.attempts,
                "at": now,
                "outcome": u.attempt_outcome,
                "reason": u.reason,
                "provider_status": u.provider_status,
                "retry_at": u.due_at if u.state is DeliveryState.RETRYING else None,
            }
            for u in updates
            if u.attempt_outcome is not None
        ]
        dead = [
            {"b_device": u.device_to_deactivate, "reason": u.reason or "TokenDead", "at": now}
            for u in updates
            if u.device_to_deactivate
        ]

        rerouted = [
            {
                "b_id": u.delivery_id,
                "b_owner": owner,
                "device_id": u.reroute_to[0],
                "channel": u.reroute_to[1],
            }
            for u in updates
            if u.reroute_to is not None
        ]

        unsent = sorted(
            u.delivery_id for u in updates if u.decision is None and u.state is not DeliveryState.DELIVERED
        )

        def write(conn: Connection) -> None:
            if rerouted:  # before _RECORD, which releases the lease this guard checks
                run(conn, _REROUTE, rerouted)
            if unsent:  # the gate's cap slots of what did not go out, while the lease says they are ours
                release_slots(conn, owner, unsent)
            run(conn, _RECORD, delivery_rows)
            if attempt_rows:
                run(conn, _INSERT_ATTEMPTS, attempt_rows)
            if dead:
                run(conn, _DEACTIVATE, dead)
            add_outcome_receipts(conn, receipts, now)

        await self._db.transact(write)

    async def release(self, owner: str, delivery_ids: Sequence[int], now: float) -> None:
        """Give unsent claims back at once (graceful shutdown), instead of waiting out the lease."""
        if not delivery_ids:
            return

        def give_back(conn: Connection) -> None:
            conn.execute(_RELEASE, {"delivery_ids": list(delivery_ids), "owner": owner, "now": now})
            announce_work(conn)

        await self._db.transact(give_back)


def _sqlite_targets(conn: Connection, rows: Sequence[Any]) -> list[Any]:
    """The device behind each claimed row, read in the claim's own transaction (one hand-off)."""
    device_ids = list({row.device_id for row in rows if row.device_id})
    found = {row.id: row for row in conn.execute(_TARGETS, {"device_ids": device_ids})} if device_ids else {}
    return [found.get(row.device_id) if row.device_id else None for row in rows]


def _claimed_batch(rows: Sequence[Any], targets: Sequence[Any]) -> list[ClaimedDelivery]:
    """The claimed deliveries in id order, made on the database thread (not the event loop's work)."""
    claimed = [_claimed(row, target) for row, target in zip(rows, targets, strict=True)]
    claimed.sort(key=lambda item: item.id)
    return claimed


def _claimed(row: Any, target: Any) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=row.id,
        notification_id=row.notification_id,
        app_id=row.app_id,
        device_id=row.device_id,
        user_id=row.user_id,
        channel=row.channel,
        attempts=row.attempts,
        replays=row.replays,
        accepted_at=row.accepted_at,
        token=target.token if target is not None else None,
        subscription=target.subscription if target is not None else None,
        device_active=bool(target.device_active) if target is not None else False,
        timezone=target.timezone if target is not None else None,
        last_reason=row.last_reason,
    )


_RECORD = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), deliveries.c.lease_owner == bindparam("b_owner"))
    .values(
        state=bindparam("state"),
        attempts=bindparam("attempts"),
        due_at=bindparam("due_at"),
        lease_owner=None,
        last_reason=bindparam("last_reason"),
        last_status=bindparam("last_status"),
        provider_message_id=bindparam("provider_message_id"),
        outcome_at=bindparam("outcome_at"),
        sent_at=func.coalesce(bindparam("sent_at"), deliveries.c.sent_at),
    )
)

_REROUTE = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), deliveries.c.lease_owner == bindparam("b_owner"))
    .values(device_id=bindparam("device_id"), channel=bindparam("channel"))
)

_TARGETS = (
    select(
        devices.c.id,
        devices.c.token,
        devices.c.subscription,
        devices.c.active.label("device_active"),
        func.coalesce(devices.c.timezone, users.c.timezone).label("timezone"),
    )
    .select_from(devices.outerjoin(users, users.c.id == devices.c.user_id))
    .where(devices.c.id.in_(bindparam("device_ids", expanding=True)))
)

# Claims of `owner` still in flight: a heartbeat extends them, a release gives them back.
_OWN_IN_FLIGHT = update(deliveries).where(
    deliveries.c.id.in_(bindparam("delivery_ids", expanding=True)),
    deliveries.c.lease_owner == bindparam("owner"),
    deliveries.c.state == DeliveryState.SENDING.value,
)
_EXTEND = _OWN_IN_FLIGHT.values(due_at=bindparam("lease_until"))

_INSERT_ATTEMPTS = insert(attempts)

_RELEASE = _OWN_IN_FLIGHT.values(state=DeliveryState.QUEUED.value, due_at=bindparam("now"), lease_owner=None)

_DEACTIVATE = (
    update(devices)
    .where(devices.c.id == bindparam("b_device"), devices.c.active)
    .values(
        active=False,
        deactivated_reason=bindparam("reason"),
        deactivated_at=bindparam("at"),
        updated_at=bindparam("at"),
    )
)
