"""An app's notification categories (`PUT /v1/apps/{app_id}/categories`): stored whole, in the app's order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from pushwise.domain.audience.preferences import Category
from pushwise.domain.clock import Clock
from pushwise.store.db import Database
from pushwise.store.schema import categories


def category_of(row: Any) -> Category:
    return Category(
        key=row.key,
        name=row.name,
        default_on=bool(row.default_on),
        channels=tuple(row.channels) if row.channels is not None else None,
        description=row.description,
        config=row.config or {},
    )


def app_categories(conn: Connection, app_id: str) -> list[Category]:
    """Inside a caller's read (the preference page reads them with the user's choices)."""
    query = select(categories).where(categories.c.app_id == app_id).order_by(categories.c.position)
    return [category_of(row) for row in conn.execute(query)]


class CategoryRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def replace(self, app_id: str, wanted: Sequence[Category]) -> None:
        """The app's categories become exactly `wanted`; users' stored choices are kept."""
        now = self._clock.now()
        rows = [
            {
                "app_id": app_id,
                "key": category.key,
                "position": position,
                "name": category.name,
                "description": category.description,
                "default_on": category.default_on,
                "channels": list(category.channels) if category.channels is not None else None,
                "config": dict(category.config),
                "updated_at": now,
            }
            for position, category in enumerate(wanted)
        ]

        def write(conn: Connection) -> None:
            conn.execute(delete(categories).where(categories.c.app_id == app_id))
            if rows:
                conn.execute(insert(categories), rows)

        await self._db.transact(write)

    async def of_app(self, app_id: str) -> list[Category]:
        return await self._db.query(lambda conn: app_categories(conn, app_id))
