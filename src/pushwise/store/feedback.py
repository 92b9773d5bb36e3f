"""Feedback counts (opened, clicked, dismissed, not interested, too many, unsubscribed) per
notification, campaign, category and template: what senders read to see which messages users
open and which push them away."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select

from pushwise.store.db import Database
from pushwise.store.schema import feedback_counts

Dimension = Literal["notification", "campaign", "category", "template"]


class FeedbackCounts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def of(self, app_id: str, dimension: Dimension, key: str) -> dict[str, int]:
        query = select(feedback_counts.c.type, feedback_counts.c.count.label("n")).where(
            feedback_counts.c.app_id == app_id,
            feedback_counts.c.dimension == dimension,
            feedback_counts.c.key == key,
        )
        async with self._db.read.connect() as conn:
            return {row.type: int(row.n) for row in await conn.execute(query)}

    async def by_key(self, app_id: str, dimension: Dimension) -> dict[str, dict[str, int]]:
        query = (
            select(feedback_counts.c.key, feedback_counts.c.type, feedback_counts.c.count.label("n"))
            .where(feedback_counts.c.app_id == app_id, feedback_counts.c.dimension == dimension)
            .order_by(feedback_counts.c.key, feedback_counts.c.type)
        )
        found: dict[str, dict[str, int]] = {}
        async with self._db.read.connect() as conn:
            for row in await conn.execute(query):
                found.setdefault(row.key, {})[row.type] = int(row.n)
        return found
