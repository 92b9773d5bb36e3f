"""The catalogue (`PUT /v1/catalog/items`), item popularity per cohort, and what a user already
saw or was pushed: everything an item pick reads, each in one query per batch of users.

Popularity is rebuilt by the leader (`refresh_popularity`): for each app, the last 30
days of item events, weighted (a purchase counts 5, a cart 3, a view 1) and decayed
(half-life 7 days), summed per cohort, a cohort being the users whose strongest
interest is the same category (`""`: everyone). So "popular among users like you"
is one indexed read at pick time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, text

from pushwise.domain.audience.interests import raw_for_affinity
from pushwise.domain.content.picks import Item
from pushwise.store.campaigns import enter_system
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.schema import catalog_items, deliveries, item_popularity, user_events, user_interests
from pushwise.store.upsert import insert_for

POPULARITY_DAYS = 30
POPULARITY_HALF_LIFE = 7 * 86_400.0
SEEN_DAYS = 90
_EVENT_WEIGHT = {"purchased": 5.0, "added_to_cart": 3.0, "item_viewed": 1.0}
_CORE = {"id", "title", "category", "price", "currency", "stock", "launched_at"}


def item_of(row: Any) -> Item:
    fields = {
        **(row.fields or {}),
        "id": row.item_id,
        "title": row.title,
        "category": row.category,
        "price": row.price,
        "currency": row.currency,
        "stock": row.stock,
        "launched_at": row.launched_at,
    }
    return Item(row.item_id, row.category, row.stock, row.launched_at, fields)


class CatalogRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, app_id: str, items: Sequence[Mapping[str, Any]], now: float) -> int:
        rows = [
            {
                "app_id": app_id,
                "item_id": item["id"],
                "title": item["title"],
                "category": item.get("category"),
                "price": item.get("price"),
                "currency": item.get("currency"),
                "stock": item.get("stock"),
                "launched_at": item.get("launched_at"),
                "fields": {k: v for k, v in item.items() if k not in _CORE and v is not None},
                "updated_at": now,
            }
            for item in sorted(items, key=lambda each: str(each["id"]))
        ]

        def write(conn: Connection) -> int:
            before = {
                row.item_id: row
                for row in conn.execute(
                    select(catalog_items.c.item_id, catalog_items.c.stock, catalog_items.c.price).where(
                        catalog_items.c.app_id == app_id,
                        catalog_items.c.item_id.in_([row["item_id"] for row in rows]),
                    )
                )
            }
            insert = insert_for(conn.dialect.name, catalog_items)
            replace_all = {
                name: insert.excluded[name]
                for name in (
                    "title",
                    "category",
                    "price",
                    "currency",
                    "stock",
                    "launched_at",
                    "fields",
                    "updated_at",
                )
            }
            conn.execute(
                insert.on_conflict_do_update(index_elements=["app_id", "item_id"], set_=replace_all), rows
            )
            # What the update means to users: back in stock, cheaper, or new in their favourite category.
            for trigger, row in catalogue_triggers(before, rows):
                users = interested_users(conn, app_id, trigger, row, now)
                enter_system(conn, app_id, trigger, users, _item_event(trigger, row, before), now)
            return len(rows)

        return await self._db.transact(write)

    async def get(self, app_id: str, item_id: str) -> Item | None:
        query = select(catalog_items).where(
            catalog_items.c.app_id == app_id, catalog_items.c.item_id == item_id
        )
        async with self._db.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return item_of(row) if row is not None else None

    async def delete(self, app_id: str, item_id: str) -> bool:
        statement = delete(catalog_items).where(
            catalog_items.c.app_id == app_id, catalog_items.c.item_id == item_id
        )
        async with self._db.writing() as conn:
            return bool((await conn.execute(statement)).rowcount)

    async def available(self, app_id: str) -> list[Item]:
        """Every item in stock (or not tracked): the candidates of a pick."""
        query = select(catalog_items).where(
            catalog_items.c.app_id == app_id,
            (catalog_items.c.stock.is_(None)) | (catalog_items.c.stock > 0),
        )
        return await self._db.query(lambda conn: [item_of(row) for row in conn.execute(query)])

    async def popularity(self, app_id: str) -> dict[str, dict[str, float]]:
        """Cohort -> item -> score."""
        query = select(item_popularity.c.cohort, item_popularity.c.item_id, item_popularity.c.score).where(
            item_popularity.c.app_id == app_id
        )
        found: dict[str, dict[str, float]] = {}
        for row in await self._db.query(lambda conn: conn.execute(query).all()):
            found.setdefault(row.cohort, {})[row.item_id] = row.score
        return found


def item_history(
    conn: Connection, user_ids: Sequence[str], now: float, no_repeat_seconds: float
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per user: items pushed within the no-repeat window, and items they touched lately."""
    pushed: dict[str, set[str]] = {}
    seen: dict[str, set[str]] = {}
    if not user_ids:
        return pushed, seen
    for row in conn.execute(
        select(deliveries.c.user_id, deliveries.c.item_id).where(
            deliveries.c.user_id.in_(user_ids),
            deliveries.c.template.is_not(None),
            deliveries.c.item_id.is_not(None),
            deliveries.c.sent_at > now - no_repeat_seconds,
        )
    ):
        pushed.setdefault(row.user_id, set()).add(row.item_id)
    for row in conn.execute(
        select(user_events.c.user_id, user_events.c.item_id).where(
            user_events.c.user_id.in_(user_ids),
            user_events.c.item_id.is_not(None),
            user_events.c.at > now - SEEN_DAYS * 86_400.0,
        )
    ):
        seen.setdefault(row.user_id, set()).add(row.item_id)
    return pushed, seen


def strongest_interests(conn: Connection, user_ids: Sequence[str]) -> dict[str, str]:
    """Each user's cohort: the category of their largest stored interest weight."""
    cohorts: dict[str, tuple[float, str]] = {}
    for row in conn.execute(
        select(user_interests.c.user_id, user_interests.c.category, user_interests.c.weight).where(
            user_interests.c.user_id.in_(user_ids)
        )
    ):
        best = cohorts.get(row.user_id)
        if best is None or (row.weight, row.category) > best:
            cohorts[row.user_id] = (row.weight, row.category)
    return {user: category for user, (_weight, category) in cohorts.items()}


_RECENT_ITEM_EVENTS = text(
    """
    SELECT e.user_id, e.item_id, e.type, e.at FROM user_events e
    WHERE e.app_id = :app_id AND e.item_id IS NOT NULL AND e.at > :since
      AND e.type IN ('purchased', 'added_to_cart', 'item_viewed')
    """
)


def refresh_popularity(conn: Connection, app_id: str, now: float) -> int:
    """Rebuild one app's popularity table from its recent item events (the leader's job)."""
    events = conn.execute(
        _RECENT_ITEM_EVENTS, {"app_id": app_id, "since": now - POPULARITY_DAYS * 86_400.0}
    ).all()
    cohorts = strongest_interests(conn, sorted({row.user_id for row in events}))
    scores: dict[tuple[str, str], float] = {}
    rate = math.log(2) / POPULARITY_HALF_LIFE
    for row in events:
        weight = _EVENT_WEIGHT[row.type] * math.exp(-rate * max(0.0, now - row.at))
        for cohort in {"", cohorts.get(row.user_id, "")}:  # everyone's, and the user's cohort's
            scores[(cohort, row.item_id)] = scores.get((cohort, row.item_id), 0.0) + weight
    conn.execute(delete(item_popularity).where(item_popularity.c.app_id == app_id))
    rows = [
        {"app_id": app_id, "cohort": cohort, "item_id": item, "score": score}
        for (cohort, item), score in sorted(scores.items())
    ]
    if rows:
        run(conn, item_popularity.insert(), rows)
    return len(rows)


def apps_with_items(conn: Connection) -> list[str]:
    query = select(catalog_items.c.app_id).distinct().order_by(catalog_items.c.app_id)
    return list(conn.execute(query).scalars())


def catalogue_triggers(
    before: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[str, Mapping[str, Any]]]:
    """(system trigger, item row) for each item that came back in stock, got cheaper or is new."""
    found = []
    for row in rows:
        old = before.get(row["item_id"])
        if old is None:
            found.append(("new_arrival", row))
            continue
        if old.stock is not None and old.stock <= 0 and (row["stock"] is None or row["stock"] > 0):
            found.append(("back_in_stock", row))
        if old.price is not None and row["price"] is not None and row["price"] < old.price:
            found.append(("price_drop", row))
    return found


def _item_event(trigger: str, row: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    old = before.get(row["item_id"])
    item = {
        **row["fields"],
        "id": row["item_id"],
        "title": row["title"],
        "category": row["category"],
        "price": row["price"],
        "currency": row["currency"],
        "stock": row["stock"],
    }
    return {
        "type": trigger,
        "item_id": row["item_id"],
        "item": item,
        "old_price": old.price if old is not None else None,
        "category": row["category"],
    }


# Users with at least this affinity for a category hear of its new arrivals (about a cart's worth).
NEW_ARRIVAL_AFFINITY = 0.4
INTEREST_WINDOW_DAYS = 30


def interested_users(
    conn: Connection, app_id: str, trigger: str, row: Mapping[str, Any], now: float
) -> list[str]:
    """Who a catalogue change is news to (capped at 100,000 per item)."""
    if trigger == "new_arrival":
        if not row["category"]:
            return []
        threshold = raw_for_affinity(NEW_ARRIVAL_AFFINITY)
        query = (
            select(user_interests.c.user_id)
            .where(
                user_interests.c.app_id == app_id,
                user_interests.c.category == row["category"],
                user_interests.c.weight >= threshold,
            )
            .limit(100_000)
        )
        return sorted(conn.execute(query).scalars())
    since = now - INTEREST_WINDOW_DAYS * 86_400.0
    touched = (
        select(user_events.c.user_id)
        .distinct()
        .where(
            user_events.c.app_id == app_id,
            user_events.c.item_id == row["item_id"],
            user_events.c.type.in_(("item_viewed", "added_to_cart")),
            user_events.c.at >= since,
        )
    )
    bought = select(user_events.c.user_id).where(
        user_events.c.app_id == app_id,
        user_events.c.item_id == row["item_id"],
        user_events.c.type == "purchased",
        user_events.c.at >= since,
    )
    return sorted(conn.execute(touched.where(user_events.c.user_id.not_in(bought)).limit(100_000)).scalars())
