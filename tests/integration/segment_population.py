"""Stores generated users (`tests/segment_strategies.py`) in every table a segment rule reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, insert

from pushwise.domain.audience.preferences import Category
from pushwise.domain.audience.reference import Person
from pushwise.store.db import Database
from pushwise.store.ids import new_id
from pushwise.store.schema import (
    apps,
    categories,
    channel_unsubscribes,
    devices,
    user_engagement,
    user_interests,
    user_preferences,
    users,
)
from tests.segment_strategies import NOW, PLATFORMS


@dataclass
class Population:
    """Writes generated users of one app into every table rules read."""

    db: Database

    async def app(self, declared: Mapping[str, Category]) -> str:
        app_id = new_id("app")

        def write(conn: Connection) -> None:
            conn.execute(insert(apps).values(id=app_id, name="segments", created_at=NOW))
            for position, category in enumerate(declared.values()):
                conn.execute(
                    insert(categories).values(
                        app_id=app_id,
                        key=category.key,
                        position=position,
                        name=category.name,
                        default_on=category.default_on,
                        channels=list(category.channels) if category.channels is not None else None,
                        config={},
                        updated_at=NOW,
                    )
                )

        await self.db.transact(write)
        return app_id

    async def users(self, app_id: str, people: list[Person]) -> list[str]:
        """Store the people as users `u0`, `u1`, ...; returns their external ids."""
        external_ids = [f"u{i}" for i in range(len(people))]
        await self.db.transact(
            lambda conn: self._write(conn, app_id, list(zip(external_ids, people, strict=True)))
        )
        return external_ids

    @staticmethod
    def _write(conn: Connection, app_id: str, people: list[tuple[str, Person]]) -> None:
        rows: dict[Table, list[dict[str, Any]]] = {table: [] for table in _TABLES}
        for external_id, person in people:
            user_id = new_id("usr")
            rows[users].append(
                {
                    "id": user_id,
                    "app_id": app_id,
                    "external_id": external_id,
                    "attributes": dict(person.attributes),
                    "tags": list(person.tags),
                    "country": person.country,
                    "locale": person.locale,
                    "timezone": person.timezone,
                    "lat": person.lat,
                    "lon": person.lon,
                    "last_active_at": person.last_active_at,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            # An inactive device on every platform: only active ones count.
            for platform in PLATFORMS:
                for active in (False, True) if platform in person.platforms else (False,):
                    rows[devices].append(
                        {
                            "id": new_id("dev"),
                            "app_id": app_id,
                            "user_id": user_id,
                            "platform": platform,
                            "token": new_id("tok"),
                            "active": active,
                            "created_at": NOW,
                            "updated_at": NOW,
                        }
                    )
            rows[user_interests] += [
                {"user_id": user_id, "category": category, "app_id": app_id, "weight": d.value, "at": d.at}
                for category, d in person.interests.items()
            ]
            rows[user_engagement] += [
                {"user_id": user_id, "day": day, "app_id": app_id, **counts}
                for day, counts in person.engagement.items()
            ]
            rows[user_preferences] += [
                {
                    "user_id": user_id,
                    "category": category,
                    "channel": channel,
                    "allowed": allowed,
                    "updated_at": NOW,
                }
                for (category, channel), allowed in person.preferences.items()
            ]
            rows[channel_unsubscribes] += [
                {"user_id": user_id, "channel": channel, "app_id": app_id, "at": NOW}
                for channel in person.unsubscribed
            ]
        for table in _TABLES:
            if rows[table]:
                conn.execute(insert(table), rows[table])


_TABLES = (users, devices, user_interests, user_engagement, user_preferences, channel_unsubscribes)
