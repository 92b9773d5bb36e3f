"""Users: an app's people, addressed by the app's own `external_id`."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.domain.clock import Clock
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.ids import new_id
from pushwise.store.schema import devices, users
from pushwise.store.upsert import dialect_insert, upsert_into

PROFILE_FIELDS = frozenset(
    {
        "email",
        "email_verified",
        "phone",
        "timezone",
        "locale",
        "attributes",
        "tags",
        "country",
        "region",
        "city",
        "lat",
        "lon",
    }
)
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class User:
    id: str
    app_id: str
    external_id: str
    email: str | None
    phone: str | None
    timezone: str | None
    locale: str | None
    attributes: dict[str, Any]
    tags: list[str]
    created_at: float
    updated_at: float
    email_verified: bool = False
    country: str | None = None
    region: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    first_seen_at: float | None = None
    last_active_at: float | None = None


def _user(row: RowMapping) -> User:
    return User(
        row["id"],
        row["app_id"],
        row["external_id"],
        row["email"],
        row["phone"],
        row["timezone"],
        row["locale"],
        row["attributes"] or {},
        row["tags"] or [],
        row["created_at"],
        row["updated_at"],
        bool(row["email_verified"]),
        row["country"],
        row["region"],
        row["city"],
        row["lat"],
        row["lon"],
        row["first_seen_at"],
        row["last_active_at"],
    )


def _new_row(app_id: str, external_id: str, now: float) -> dict[str, Any]:
    return {
        "id": new_id("usr"),
        "app_id": app_id,
        "external_id": external_id,
        "email": None,
        "phone": None,
        "timezone": None,
        "locale": None,
        "attributes": {},
        "tags": [],
        "created_at": now,
        "updated_at": now,
        "first_seen_at": now,
    }


def ensure_user_ids(
    conn: Connection,
    app_id: str,
    external_ids: Collection[str],
    now: float,
    seeds: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """Internal ids of these users, creating the unknown ones (inside the caller's transaction).

    `seeds` gives profile fields (time zone, locale, tags) for users created here; existing
    users are left untouched. Looked up first: users are usually known already, and
    a lookup costs far less than an insert that conflicts.
    """
    if not external_ids:
        return {}
    wanted = sorted(external_ids)
    found = _lookup(conn, app_id, wanted)
    missing = [external_id for external_id in wanted if external_id not in found]
    if missing:
        # Sorted, so concurrent transactions lock the same rows in the same order (no deadlock).
        rows = [
            {**_new_row(app_id, external_id, now), **(seeds or {}).get(external_id, {})}
            for external_id in missing
        ]
        run(conn, _CREATE_MISSING[conn.dialect.name], rows)
        found.update(_lookup(conn, app_id, missing))
    return found


def _lookup(conn: Connection, app_id: str, external_ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(external_ids), _LOOKUP_CHUNK):
        chunk = list(external_ids[start : start + _LOOKUP_CHUNK])
        rows = run(conn, _USER_IDS, {"app_id": app_id, "external_ids": chunk})
        found.update({external_id: user_id for external_id, user_id in rows})
    return found


# Statements built once, so the driver's fast path compiles each once (store/driver.py).
_CREATE_MISSING = {
    name: dialect.insert(users).on_conflict_do_nothing(index_elements=["app_id", "external_id"])
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_USER_IDS = select(users.c.external_id, users.c.id).where(
    users.c.app_id == bindparam("app_id"), users.c.external_id.in_(bindparam("external_ids", expanding=True))
)


async def ensure_users(
    connection: AsyncConnection,
    app_id: str,
    external_ids: Collection[str],
    now: float,
    seeds: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """`ensure_user_ids` on an async connection."""
    return await connection.run_sync(lambda conn: ensure_user_ids(conn, app_id, external_ids, now, seeds))


def add_tags(connection: Connection, tags_by_user: Mapping[str, Collection[str]], now: float) -> None:
    """Add tags to users (by internal id) inside the caller's transaction; tags they have are kept
    in place, so adding the same tags again changes nothing."""
    wanted = list(tags_by_user)
    changed = []
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        query = select(users.c.id, users.c.tags).where(users.c.id.in_(wanted[start : start + _LOOKUP_CHUNK]))
        for row in connection.execute(query):
            merged = list(dict.fromkeys([*(row.tags or []), *tags_by_user[row.id]]))
            if merged != (row.tags or []):
                changed.append({"b_id": row.id, "b_tags": merged, "b_at": now})
    if changed:
        run(connection, _SET_TAGS, changed)


_SET_TAGS = (
    update(users)
    .where(users.c.id == bindparam("b_id"))
    .values(tags=bindparam("b_tags"), updated_at=bindparam("b_at"))
)


class UserRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def upsert(self, app_id: str, external_id: str, changes: Mapping[str, Any]) -> tuple[User, bool]:
        """Create or update; only the fields in `changes` are written. Returns (user, created)."""
        unknown = set(changes) - PROFILE_FIELDS
        if unknown:
            raise ValueError(f"not profile fields: {sorted(unknown)}")
        now = self._clock.now()
        row = {**_new_row(app_id, external_id, now), **changes}
        statement = (
            upsert_into(self._db, users)
            .values(row)
            .on_conflict_do_update(
                index_elements=["app_id", "external_id"], set_={**changes, "updated_at": now}
            )
            .returning(*users.c)
        )
        async with self._db.writing() as connection:
            stored = (await connection.execute(statement)).mappings().one()
        return _user(stored), stored["id"] == row["id"]

    async def upsert_many(self, app_id: str, changes_by_user: Mapping[str, Mapping[str, Any]]) -> int:
        """Create or update many users in one transaction: all of them, or none if anything fails.

        Each user's own `changes` are written, as `upsert` does; users that change the
        same set of fields share one multi-row statement, so a batch of a thousand costs
        a few statements, not a thousand.
        """
        for changes in changes_by_user.values():
            unknown = set(changes) - PROFILE_FIELDS
            if unknown:
                raise ValueError(f"not profile fields: {sorted(unknown)}")
        now = self._clock.now()

        def write(conn: Connection) -> int:
            by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            # Sorted, so concurrent batches lock the same rows in the same order (no deadlock).
            for external_id in sorted(changes_by_user):
                changes = changes_by_user[external_id]
                row = {**_new_row(app_id, external_id, now), **changes}
                by_fields.setdefault(tuple(sorted(changes)), []).append(row)
            for names, rows in by_fields.items():
                insert = dialect_insert(conn, users)
                updated = {name: insert.excluded[name] for name in names}
                conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=["app_id", "external_id"], set_={**updated, "updated_at": now}
                    ),
                    rows,
                )
            return len(changes_by_user)

        return await self._db.transact(write, urgent=True)

    async def get(self, app_id: str, external_id: str) -> User | None:
        query = select(users).where(users.c.app_id == app_id, users.c.external_id == external_id)
        async with self._db.read.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return _user(row) if row is not None else None

    async def delete(self, app_id: str, external_id: str) -> bool:
        """Erase the user and their devices: a deleted person must stop receiving pushes."""
        async with self._db.writing() as connection:
            user_id = await connection.scalar(
                select(users.c.id).where(users.c.app_id == app_id, users.c.external_id == external_id)
            )
            if user_id is None:
                return False
            await connection.execute(
                delete(devices).where(devices.c.app_id == app_id, devices.c.user_id == user_id)
            )
            await connection.execute(delete(users).where(users.c.id == user_id))
        return True
