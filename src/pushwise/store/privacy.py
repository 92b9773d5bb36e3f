"""Everything stored about one user: exported as it is, or erased.

Both walk `schema.metadata` for tables with a `user_id` column instead of naming tables,
so a table added later is exported and erased without anyone remembering to. The gate's
tables key a device registered without a user as `device:<id>`; those of the user's devices
are theirs too. Tables keyed by delivery instead of user (`BY_DELIVERY`: the words of each
push a digest merged) are found through the user's deliveries, before those are anonymised.
Three kinds of rows name a user without being theirs: deliveries (the app's record of what
it sent; anonymised, never deleted, so the notification's counts stay true), notifications and
campaigns addressed to the user's id (the id is taken out of the list), and receipts still
waiting to be posted (the user's and device's ids are blanked).
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

from pushwise.domain.gate.model import device_subject
from pushwise.store.db import Database
from pushwise.store.schema import (
    campaigns,
    deliveries,
    devices,
    gate_digest_parts,
    metadata,
    notifications,
    receipt_outbox,
    users,
)

# Rows that name the user but belong to the app's record of its sending.
ANONYMISED = frozenset({deliveries.name})

Path = tuple[str, ...]

# The app's records that address users by id, and where in the row: the id is taken out.
ADDRESSED: tuple[tuple[Table, str, Path], ...] = (
    (notifications, "target", ()),
    (campaigns, "definition", ("notification", "to")),  # one-off, scheduled and recurring
)

# Tables without `user_id` whose rows hold a user's words, by the columns naming a delivery:
# a digest part is the user's if either it or the push that carried it was sent to them.
BY_DELIVERY: dict[Table, tuple[str, ...]] = {gate_digest_parts: ("delivery_id", "carrier")}


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

    @property
    def keys(self) -> tuple[str, ...]:
        """What a `user_id` column holds for them: their id, or a device of theirs without a user."""
        return (self.user_id, *(device_subject(d) for d in self.device_ids))


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
    for table in (*user_tables(), *BY_DELIVERY):
        rows = _rows(conn.execute(select(table).where(_owned_by(table, subject))))
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
    deleted = {  # found through the deliveries, so before those lose the user's id
        table.name: _count(conn.execute(delete(table).where(_owned_by(table, subject))))
        for table in BY_DELIVERY
    }
    anonymised = {
        deliveries.name: _count(
            conn.execute(
                update(deliveries).where(_deliveries_of(subject)).values(user_id=None, device_id=None)
            )
        ),
        **{
            table.name: _drop_from_targets(conn, subject, table, column, path)
            for table, column, path in ADDRESSED
        },
        receipt_outbox.name: _blank_pending_receipts(conn, subject),
    }
    for table in (*user_tables(), users):
        deleted[table.name] = _count(conn.execute(delete(table).where(_owned_by(table, subject))))
    return Erased({k: v for k, v in deleted.items() if v}, {k: v for k, v in anonymised.items() if v})


def _owned_by(table: Table, subject: Subject) -> ColumnElement[bool]:
    if table is users:
        return table.c.id == subject.user_id
    if table in BY_DELIVERY:
        theirs = select(deliveries.c.id).where(_deliveries_of(subject))
        return or_(*(table.c[column].in_(theirs) for column in BY_DELIVERY[table]))
    return table.c.user_id.in_(subject.keys)


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def _deliveries_of(subject: Subject) -> ColumnElement[bool]:
    """The user's deliveries, including those to their devices planned before the device was theirs."""
    return or_(deliveries.c.user_id == subject.user_id, deliveries.c.device_id.in_(subject.device_ids))


def _drop_from_targets(conn: Connection, subject: Subject, table: Table, column: str, path: Path) -> int:
    """Rows addressed to the user by id keep their row, without the id."""
    named = orjson.dumps(subject.external_id).decode()
    candidates = conn.execute(
        select(table.c.id, table.c[column].label("value")).where(
            table.c.app_id == subject.app_id,
            cast(table.c[column], Text).contains(named, autoescape=True),
        )
    )
    changed = []
    for row in candidates:
        target = _at(row.value, path)
        user_ids = target.get("user_ids") if isinstance(target, dict) else None
        if isinstance(user_ids, list) and subject.external_id in user_ids:
            kept = {**target, "user_ids": [u for u in user_ids if u != subject.external_id]}
            changed.append({"b_id": row.id, "b_value": _with(row.value, path, kept)})
    if changed:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({column: bindparam("b_value", type_=table.c[column].type)}),
            changed,
        )
    return len(changed)


def _at(document: Any, path: Path) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _with(document: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A copy of `document` with `value` at `path`."""
    if not path:
        return dict(value)
    return {**document, path[0]: _with(document[path[0]], path[1:], value)}


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
