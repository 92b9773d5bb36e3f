"""What the gate writes: cap slots, digest windows and parts, pace slots, holdout arms.

Exactness across workers and processes comes from where this is written: in the gate's
own transaction, after reading the state it decided on. SQLite has one writer, so two
transactions never interleave. On PostgreSQL the transaction first takes a
transaction-scoped advisory lock per user (and per paced stream), in one sorted order, so
two workers screening the same user take turns (never deadlock), and the second one
reads the first one's slots (READ COMMITTED reads what committed before each statement).

A slot goes back when its delivery ends unsent: `release` runs inside the transaction
that records that outcome (`store/queue.py`), whichever flush it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, text

from pushwise.domain.gate.batch import Effects
from pushwise.store.driver import run
from pushwise.store.experiments import record_send_assignments
from pushwise.store.schema import (
    deliveries,
    gate_digest_parts,
    gate_digests,
    gate_paces,
    gate_sends,
    inbox_items,
)
from pushwise.store.upsert import dialect_insert, insert_for

# First key of the gate's two-key advisory locks (the leader's use 0x5057): apart from both
# pushwise's other locks and any other application's.
LOCK_NAMESPACE = 0x5047  # "PG": pushwise gate

_LOCK = text("SELECT count(pg_advisory_xact_lock(:namespace, k)) FROM unnest(CAST(:keys AS integer[])) AS k")


def lock_key(name: str) -> int:
    """A stable signed 32-bit key per user or stream (a collision only makes two take turns)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), signed=True)


def lock(conn: Connection, names: Collection[str]) -> None:
    """Take the gate's locks on `names` for this transaction, in ascending key order (PostgreSQL).

    `unnest` hands the sorted array over in order and each row takes its lock as it passes,
    so every transaction queues for shared keys in the same order.
    """
    if conn.dialect.name == "sqlite" or not names:
        return
    keys = sorted({lock_key(name) for name in names})
    conn.execute(_LOCK, {"namespace": LOCK_NAMESPACE, "keys": keys})


@dataclass(frozen=True, slots=True)
class PartText:
    """What a delivery would have shown: the words a digest lists it by, and its inbox item."""

    title: str | None
    body: str | None
    data: Mapping[str, Any]
    url: str | None


@cache
def _ledger_insert(dialect: str) -> Any:
    """Built once per dialect (the driver compiles a statement object once). A delivery screened
    again after its worker died keeps the slot it reserved then."""
    return insert_for(dialect, gate_sends).on_conflict_do_nothing()


def write_effects(conn: Connection, effects: Effects, now: float, texts: Mapping[int, PartText]) -> None:
    """Everything the batch's decisions reserve, in the transaction that read their state."""
    if effects.sends:
        rows = [
            {
                "delivery_id": push.delivery_id,
                "app_id": app_id,
                "user_id": subject,
                "notification_id": push.notification_id,
                "at": push.at,
                "channel": push.channel,
                "device_id": push.device_id,
                "category": push.category,
                "campaign": push.campaign,
                "content_key": push.content_key,
                "collapse_key": push.collapse_key,
                "marketing": push.marketing,
                "capped": push.capped,
            }
            for app_id, subject, push in effects.sends
        ]
        run(conn, _ledger_insert(conn.dialect.name), rows)
    if effects.digests:
        _write_digests(conn, effects, now, texts)
    if effects.paces:
        statement = dialect_insert(conn, gate_paces)
        upsert = statement.on_conflict_do_update(
            index_elements=["stream"], set_={"next_free": statement.excluded.next_free}
        )
        conn.execute(upsert, [{"stream": s, "next_free": at} for s, at in sorted(effects.paces.items())])
    for (app_id, kind, source_id), arms in sorted(effects.assignments.items()):
        record_send_assignments(
            conn,
            app_id,
            source=kind,
            source_id=source_id,
            arms=("sent", "holdout"),
            control="holdout",
            assignments=arms,
            at=now,
        )


def _write_digests(conn: Connection, effects: Effects, now: float, texts: Mapping[int, PartText]) -> None:
    statement = dialect_insert(conn, gate_digests)
    upsert = statement.on_conflict_do_update(
        index_elements=["user_id", "key"],
        set_={"carrier": statement.excluded.carrier, "closes_at": statement.excluded.closes_at},
    )
    rows = [
        {
            "user_id": window.user_id,
            "key": window.key,
            "app_id": window.app_id,
            "carrier": window.carrier,
            "closes_at": window.closes_at,
        }
        for _key, window in sorted(effects.digests.items())
    ]
    conn.execute(upsert, rows)
    if not effects.parts:
        return
    parts, listed = [], []
    for part in effects.parts:
        text = texts.get(part.delivery_id, _NO_TEXT)
        parts.append(
            {
                "delivery_id": part.delivery_id,
                "carrier": part.carrier,
                "notification_id": part.notification_id,
                "at": now,
                "title": text.title,
                "body": text.body,
            }
        )
        if not part.user_id.startswith("device:"):
            listed.append(
                {
                    "app_id": part.app_id,
                    "user_id": part.user_id,
                    "notification_id": part.notification_id,
                    "delivery_id": part.delivery_id,
                    "title": text.title,
                    "body": text.body,
                    "data": dict(text.data),
                    "url": text.url,
                    "created_at": now,
                }
            )
    conn.execute(dialect_insert(conn, gate_digest_parts).on_conflict_do_nothing(), parts)
    if listed:  # each part is listed in the user's inbox, once per delivery
        inbox = dialect_insert(conn, inbox_items).on_conflict_do_nothing(index_elements=["delivery_id"])
        conn.execute(inbox, listed)


_NO_TEXT = PartText(None, None, {}, None)
_PARTS = select(gate_digest_parts).where(
    gate_digest_parts.c.carrier.in_(bindparam("carriers", expanding=True))
)


def read_parts(conn: Connection, carriers: Collection[int]) -> dict[int, list[PartText]]:
    """What each carrier carries, in the order the parts joined."""
    if not carriers:
        return {}
    found: dict[int, list[PartText]] = {}
    rows = conn.execute(_PARTS.order_by(gate_digest_parts.c.delivery_id), {"carriers": sorted(carriers)})
    for row in rows:
        found.setdefault(row.carrier, []).append(PartText(row.title, row.body, {}, None))
    return found


_RELEASE = delete(gate_sends).where(
    gate_sends.c.delivery_id.in_(
        select(deliveries.c.id).where(
            deliveries.c.id.in_(bindparam("ids", expanding=True)),
            deliveries.c.lease_owner == bindparam("owner"),
        )
    )
)


def release_slots(conn: Connection, owner: str, delivery_ids: Sequence[int]) -> None:
    """Give back the slots of deliveries that end (or wait) unsent, in the transaction recording that.

    Only while `owner` still holds their lease: a delivery another worker took over keeps the
    slot that worker is sending it under. Called before the outcome clears the lease.
    """
    run(conn, _RELEASE, {"ids": list(delivery_ids), "owner": owner})


# A policy's windows reach back at most 30 days (`api/schemas/policy.py`); a day more is kept.
LEDGER_KEPT_SECONDS = 31 * 86_400.0


def prune(conn: Connection, before: float) -> int:
    """Ledger rows, digest parts and spent digest windows from before `before`."""
    removed = conn.execute(delete(gate_sends).where(gate_sends.c.at < before)).rowcount or 0
    conn.execute(delete(gate_digest_parts).where(gate_digest_parts.c.at < before))
    conn.execute(delete(gate_digests).where(gate_digests.c.carrier == 0, gate_digests.c.closes_at < before))
    return int(removed)
