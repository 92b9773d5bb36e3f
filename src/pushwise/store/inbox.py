"""The in-app inbox: one list of items per (app, user), newest first.

Items are written by the inbox channel's provider, once per delivery: the unique
`delivery_id` turns a retried write (a lease lost after the insert committed)
into a no-op, so at-least-once delivery never shows a user the same item twice.
Deleting is soft (`deleted_at`) so a late retry of the same delivery cannot bring
a deleted item back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.engine import RowMapping

from pushwise.domain.clock import Clock
from pushwise.store.db import Database
from pushwise.store.schema import inbox_items
from pushwise.store.upsert import upsert_into

_table = inbox_items


@dataclass(frozen=True, slots=True)
class NewInboxItem:
    app_id: str
    user_id: str
    notification_id: str | None
    delivery_id: int | None
    title: str | None
    body: str | None
    data: dict[str, Any]
    url: str | None


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: int
    app_id: str
    user_id: str
    notification_id: str | None
    title: str | None
    body: str | None
    data: dict[str, Any]
    url: str | None
    read_at: float | None
    created_at: float

    @property
    def read(self) -> bool:
        return self.read_at is not None


def _item(row: RowMapping) -> InboxItem:
    return InboxItem(
        row["id"],
        row["app_id"],
        row["user_id"],
        row["notification_id"],
        row["title"],
        row["body"],
        row["data"] or {},
        row["url"],
        row["read_at"],
        row["created_at"],
    )


def _visible(app_id: str, user_id: str) -> Select[Any]:
    return select(_table).where(
        _table.c.app_id == app_id, _table.c.user_id == user_id, _table.c.deleted_at.is_(None)
    )


class InboxRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def add(self, new: NewInboxItem) -> InboxItem | None:
        """The stored item, or None when this delivery already wrote one."""
        row = {
            "app_id": new.app_id,
            "user_id": new.user_id,
            "notification_id": new.notification_id,
            "delivery_id": new.delivery_id,
            "title": new.title,
            "body": new.body,
            "data": new.data,
            "url": new.url,
            "created_at": self._clock.now(),
        }
        statement = (
            upsert_into(self._db, _table)
            .values(row)
            .on_conflict_do_nothing(index_elements=["delivery_id"])
            .returning(*_table.c)
        )
        async with self._db.writing() as connection:
            stored = (await connection.execute(statement)).mappings().first()
        return _item(stored) if stored is not None else None

    async def page(
        self, app_id: str, user_id: str, *, before: int | None, unread_only: bool, limit: int
    ) -> list[InboxItem]:
        query = _visible(app_id, user_id)
        if before is not None:
            query = query.where(_table.c.id < before)
        if unread_only:
            query = query.where(_table.c.read_at.is_(None))
        query = query.order_by(_table.c.id.desc()).limit(limit)
        async with self._db.read.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_item(row) for row in rows]

    async def newer_than(self, app_id: str, user_id: str, after: int, *, limit: int = 100) -> list[InboxItem]:
        """Items added after `after`, oldest first: what a live stream has not shown yet."""
        query = _visible(app_id, user_id).where(_table.c.id > after).order_by(_table.c.id).limit(limit)
        async with self._db.read.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_item(row) for row in rows]

    async def latest_id(self, app_id: str, user_id: str) -> int:
        query = select(func.max(_table.c.id)).where(_table.c.app_id == app_id, _table.c.user_id == user_id)
        async with self._db.read.connect() as connection:
            return int(await connection.scalar(query) or 0)

    async def unread_count(self, app_id: str, user_id: str) -> int:
        query = select(func.count()).where(
            _table.c.app_id == app_id,
            _table.c.user_id == user_id,
            _table.c.deleted_at.is_(None),
            _table.c.read_at.is_(None),
        )
        async with self._db.read.connect() as connection:
            return int(await connection.scalar(query) or 0)

    async def mark(self, app_id: str, user_id: str, item_id: int, *, read: bool) -> InboxItem | None:
        """Mark read (keeping the first read time) or unread; None if the user has no such item."""
        where = (
            _table.c.id == item_id,
            _table.c.app_id == app_id,
            _table.c.user_id == user_id,
            _table.c.deleted_at.is_(None),
        )
        read_at = func.coalesce(_table.c.read_at, self._clock.now()) if read else None
        async with self._db.writing() as connection:
            await connection.execute(update(_table).where(*where).values(read_at=read_at))
            row = (await connection.execute(select(_table).where(*where))).mappings().first()
        return _item(row) if row is not None else None

    async def delete(self, app_id: str, user_id: str, item_id: int) -> bool:
        statement = (
            update(_table)
            .where(
                _table.c.id == item_id,
                _table.c.app_id == app_id,
                _table.c.user_id == user_id,
                _table.c.deleted_at.is_(None),
            )
            .values(deleted_at=self._clock.now())
        )
        async with self._db.writing() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)
