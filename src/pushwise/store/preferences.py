"""A user's preferences: choices per category and channel, global unsubscribes, quiet hours.

Reads and changes one user at a time (the API, the hosted page); the gate reads a whole
batch's worth at once through `pushwise.store.gate_state`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, delete, select, update

from pushwise.domain.audience.preferences import (
    Category,
    PreferenceChange,
    Preferences,
    QuietHours,
    check_change,
)
from pushwise.domain.clock import Clock
from pushwise.store.campaigns import exit_on
from pushwise.store.categories import app_categories
from pushwise.store.db import Database
from pushwise.store.schema import channel_unsubscribes, user_preferences, users
from pushwise.store.upsert import dialect_insert


@dataclass(frozen=True, slots=True)
class UserPreferences:
    """One user's stored preferences beside the app's categories, as read in one transaction."""

    user_id: str
    external_id: str
    locale: str | None
    email: str | None
    preferences: Preferences
    categories: list[Category]


class PreferenceRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def of_user(self, app_id: str, external_id: str) -> UserPreferences | None:
        return await self._db.query(lambda conn: _read(conn, app_id, users.c.external_id == external_id))

    async def of_user_id(self, app_id: str, user_id: str) -> UserPreferences | None:
        """By internal id: what a signed link names."""
        return await self._db.query(lambda conn: _read(conn, app_id, users.c.id == user_id))

    async def change(self, app_id: str, user_id: str, change: PreferenceChange) -> UserPreferences | None:
        """Apply `change` (checked against the app's categories as they are now); None: no such user.

        Raises `PreferenceRefused` for a cell the app does not define.
        """
        now = self._clock.now()

        def write(conn: Connection) -> UserPreferences | None:
            check_change(change, {c.key: c for c in app_categories(conn, app_id)})
            found = conn.execute(
                update(users)
                .where(users.c.app_id == app_id, users.c.id == user_id)
                .values(updated_at=now)
                .returning(users.c.id)
            ).first()
            if found is None:
                return None
            _write_cells(conn, user_id, change, now)
            if change.unsubscribed is not None:
                _write_unsubscribes(conn, app_id, user_id, change.unsubscribed, now)
            if change.sets_quiet_hours:
                hours = change.quiet_hours.to_dict() if change.quiet_hours else None
                conn.execute(update(users).where(users.c.id == user_id).values(quiet_hours=hours))
            return _read(conn, app_id, users.c.id == user_id)

        return await self._db.transact(write)


def read_preferences(conn: Connection, user_id: str, quiet_hours: object) -> Preferences:
    choices = {
        (row.category, row.channel): bool(row.allowed)
        for row in conn.execute(
            select(user_preferences.c.category, user_preferences.c.channel, user_preferences.c.allowed).where(
                user_preferences.c.user_id == user_id
            )
        )
    }
    unsubscribed = frozenset(
        conn.execute(select(channel_unsubscribes.c.channel).where(channel_unsubscribes.c.user_id == user_id))
        .scalars()
        .all()
    )
    hours = QuietHours.of(quiet_hours) if isinstance(quiet_hours, dict) else None
    return Preferences(choices, unsubscribed, hours)


def _read(conn: Connection, app_id: str, which: ColumnElement[bool]) -> UserPreferences | None:
    user = conn.execute(
        select(users.c.id, users.c.external_id, users.c.locale, users.c.email, users.c.quiet_hours).where(
            users.c.app_id == app_id, which
        )
    ).first()
    if user is None:
        return None
    return UserPreferences(
        user.id,
        user.external_id,
        user.locale,
        user.email,
        read_preferences(conn, user.id, user.quiet_hours),
        app_categories(conn, app_id),
    )


def _write_cells(conn: Connection, user_id: str, change: PreferenceChange, now: float) -> None:
    chosen = [
        {"user_id": user_id, "category": key, "channel": channel, "allowed": value, "updated_at": now}
        for (key, channel), value in change.cells.items()
        if value is not None
    ]
    if chosen:
        statement = dialect_insert(conn, user_preferences)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "category", "channel"],
                set_={"allowed": statement.excluded.allowed, "updated_at": statement.excluded.updated_at},
            ),
            chosen,
        )
    for key, channel in (cell for cell, value in change.cells.items() if value is None):
        conn.execute(
            delete(user_preferences).where(
                user_preferences.c.user_id == user_id,
                user_preferences.c.category == key,
                user_preferences.c.channel == channel,
            )
        )


def _write_unsubscribes(
    conn: Connection, app_id: str, user_id: str, wanted: frozenset[str], now: float
) -> None:
    """The user's unsubscribed channels become `wanted`; a channel still wanted keeps its first time.
    A newly unsubscribed channel ends the user's journeys that exit on `unsubscribed`."""
    before = set(
        conn.execute(
            select(channel_unsubscribes.c.channel).where(channel_unsubscribes.c.user_id == user_id)
        ).scalars()
    )
    if wanted - before:
        exit_on(conn, app_id, user_id, "unsubscribed", now)
    conn.execute(
        delete(channel_unsubscribes).where(
            channel_unsubscribes.c.user_id == user_id, channel_unsubscribes.c.channel.not_in(sorted(wanted))
        )
    )
    if wanted:
        conn.execute(
            dialect_insert(conn, channel_unsubscribes).on_conflict_do_nothing(
                index_elements=["user_id", "channel"]
            ),
            [{"user_id": user_id, "channel": c, "app_id": app_id, "at": now} for c in sorted(wanted)],
        )
