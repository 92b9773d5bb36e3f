"""Everything stored about one user: exported as it is, or erased.

Both walk `schema.metadata` for tables with a `user_id` column instead of naming tables,
so a table added later is exported and erased without anyone remembering to. Three kinds
of rows name a user without being theirs: deliveries (the app's record of what it sent;
anonymised, never deleted, so the notification's counts stay true), notifications whose
`target` lists the user's id (the id is taken out of the list), and receipts still waiting
to be posted (the user's and device's ids are blanked).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    false,
    or_,
    select,
    update,
)

from pushwise.store.db import Database
from pushwise.store.schema import deliveries, devices, metadata, notifications, receipt_outbox, users

# Rows that name the user but belong to the app's record of its sending.
ANONYMISED = frozenset({deliveries.name})


def user_tables() -> list[Table]:
    """Tables with a row per user or per user and something (the user's own rows), children first."""
    found = [t for t in metadata.sorted_tables if "user_id" in t.c and t.name not in ANONYMISED]
    return [t for t in reversed(found) if t is not users]


@dataclass(frozen=True, slots=True)
class Subject:
    """The user being exported or erased, and the identifiers that name them elsewhere."""

    user_id: str
    app_id: str
    external_id: str
    device_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Erased:
    """Rows deleted and rows anonymised, per table (tables with none left out)."""

    deleted: dict[str, int]
    anonymised: dict[str, int]


class PrivacyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def export(self, app_id: str, external_id: str) -> dict[str, Any] | None:
        """Every row keyed to the user, by table (plain JSON values); None: no such user."""
        return await self._db.query(lambda conn: _export(conn, app_id, external_id))

    async def erase(self, app_id: str, external_id: str) -> Erased | None:
        """Delete the user and everything of theirs, anonymise the rest, in one transaction."""
        return await self._db.transact(lambda conn: _erase(conn, app_id, external_id))


def _subject(conn: Connection, app_id: str, external_id: str) -> Subject | None:
    user_id = conn.scalar(
        select(users.c.id).where(users.c.app_id == app_id, users.c.external_id == external_id)
    )
    if user_id is None:
        return None
    device_ids = conn.execute(
        select(devices.c.id).where(devices.c.app_id == app_id, devices.c.user_id == user_id)
    ).scalars()
    return Subject(user_id, app_id, external_id, tuple(device_ids))


def _export(conn: Connection, app_id: str, external_id: str) -> dict[str, Any] | None:
    subject = _subject(conn, app_id, external_id)
    if subject is None:
        return None
    tables: dict[str, list[dict[str, Any]]] = {
        users.name: _rows(conn.execute(select(users).where(users.c.id == subject.user_id)))
    }
    for table in user_tables():
        rows = _rows(conn.execute(select(table).where(table.c.user_id == subject.user_id)))
        if rows:
            tables[table.name] = rows
    tables[deliveries.name] = _rows(
        conn.execute(select(deliveries).where(_deliveries_of(subject)).order_by(deliveries.c.id))
    )
    return tables


def _erase(conn: Connection, app_id: str, external_id: str) -> Erased | None:
    subject = _subject(conn, app_id, external_id)
    if subject is None:
        return None
    anonymised = {
        deliveries.name: _count(
            conn.execute(
                update(deliveries).where(_deliveries_of(subject)).values(user_id=None, device_id=None)
            )
        ),
        notifications.name: _drop_from_targets(conn, subject),
        receipt_outbox.name: _blank_pending_receipts(conn, subject),
    }
    deleted = {}
    for table in (*user_tables(), users):
        deleted[table.name] = _count(conn.execute(delete(table).where(_owned_by(table, subject))))
    return Erased({k: v for k, v in deleted.items() if v}, {k: v for k, v in anonymised.items() if v})


def _owned_by(table: Table, subject: Subject) -> ColumnElement[bool]:
    return table.c.id == subject.user_id if table is users else table.c.user_id == subject.user_id


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def _deliveries_of(subject: Subject) -> ColumnElement[bool]:
    """The user's deliveries, including those to their devices planned before the device was theirs."""
    return or_(deliveries.c.user_id == subject.user_id, deliveries.c.device_id.in_(subject.device_ids))


def _drop_from_targets(conn: Connection, subject: Subject) -> int:
    """Notifications addressed to the user by id keep their row, without the id."""
    named = orjson.dumps(subject.external_id).decode()
    candidates = conn.execute(
        select(notifications.c.id, notifications.c.target).where(
            notifications.c.app_id == subject.app_id,
            cast(notifications.c.target, Text).contains(named, autoescape=True),
        )
    )
    changed = []
    for row in candidates:
        target = dict(row.target)
        kept = [u for u in target.get("user_ids", []) if u != subject.external_id]
        if len(kept) != len(target.get("user_ids", [])):
            changed.append({"b_id": row.id, "b_target": {**target, "user_ids": kept}})
    if changed:
        conn.execute(
            update(notifications)
            .where(notifications.c.id == bindparam("b_id"))
            .values(target=bindparam("b_target", type_=notifications.c.target.type)),
            changed,
        )
    return len(changed)


def _blank_pending_receipts(conn: Connection, subject: Subject) -> int:
    """Receipts not yet posted still go to the app, without saying whom they were about."""
    ids = {subject.user_id, *subject.device_ids}
    candidates = conn.execute(
        select(receipt_outbox.c.id, receipt_outbox.c.event).where(
            receipt_outbox.c.app_id == subject.app_id,
            cast(receipt_outbox.c.event, Text).contains(subject.user_id, autoescape=True)
            | _mentions_any(subject.device_ids),
        )
    )
    changed = [
        {"b_id": row.id, "b_event": {**row.event, "user_id": None, "device_id": None}}
        for row in candidates
        if row.event.get("user_id") in ids or row.event.get("device_id") in ids
    ]
    if changed:
        conn.execute(
            update(receipt_outbox)
            .where(receipt_outbox.c.id == bindparam("b_id"))
            .values(event=bindparam("b_event", type_=receipt_outbox.c.event.type)),
            changed,
        )
    return len(changed)


def _mentions_any(device_ids: Sequence[str]) -> ColumnElement[bool]:
    text = cast(receipt_outbox.c.event, Text)
    return or_(false(), *(text.contains(device_id, autoescape=True) for device_id in device_ids))


def _rows(result: Iterable[Any]) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in row._mapping.items()} for row in result]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value
