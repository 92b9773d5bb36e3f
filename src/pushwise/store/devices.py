"""Devices: one row per (app, platform, token), registered idempotently.

Registration is an `INSERT ... ON CONFLICT DO UPDATE`, so the same token sent
twice, or by twenty concurrent requests, is one device; registering again
reactivates a device that a provider had reported dead and bumps `last_seen_at`,
unless the client reports the notification permission `denied`, which keeps (or
makes) the device inactive for `PermissionDenied` (`pushwise.domain.push_permission`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Select, bindparam, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import Executable

from pushwise.domain.clock import Clock
from pushwise.domain.push_permission import PERMISSION_DENIED, Permission
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.ids import new_id
from pushwise.store.schema import devices, users
from pushwise.store.users import add_tags, ensure_user_ids

_LOOKUP_CHUNK = 500
Key = tuple[str, str]  # (platform, token)


@dataclass(frozen=True, slots=True)
class DeviceRegistration:
    platform: str
    token: str
    subscription: dict[str, Any] | None = None
    user_external_id: str | None = None
    timezone: str | None = None
    locale: str | None = None
    push_permission: Permission | None = None  # None: not reported, treated as granted
    vendor: str | None = None  # the phone maker's push service of an Android token (else FCM)
    installation_id: str | None = None  # devices sharing one are one app on one phone
    tags: tuple[str, ...] = ()  # added to the user's tags (imports carry them; the API does not)


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    app_id: str
    platform: str
    token: str
    user_id: str | None
    user_external_id: str | None
    timezone: str | None
    locale: str | None
    active: bool
    deactivated_reason: str | None
    deactivated_at: float | None
    last_seen_at: float | None
    created_at: float
    updated_at: float
    vendor: str | None = None
    installation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Registered:
    device: Device
    created: bool
    turned_off: bool = False  # this write took the device out of sending for PermissionDenied


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    created: int  # devices new to the app
    turned_off_users: set[str]  # users (internal ids) a device of whom this write turned off


@dataclass(frozen=True, slots=True)
class PermissionReported:
    device: Device
    turned_off: bool


def _device(row: RowMapping) -> Device:
    return Device(
        row["id"],
        row["app_id"],
        row["platform"],
        row["token"],
        row["user_id"],
        row["external_id"],
        row["timezone"],
        row["locale"],
        bool(row["active"]),
        row["deactivated_reason"],
        row["deactivated_at"],
        row["last_seen_at"],
        row["created_at"],
        row["updated_at"],
        row["vendor"],
        row["installation_id"],
    )


def _denied_before_and_now(reason_now: ColumnElement[Any]) -> ColumnElement[bool]:
    return (
        ~devices.c.active
        & (devices.c.deactivated_reason == PERMISSION_DENIED)
        & (reason_now == PERMISSION_DENIED)
    )


def _turned_off_at(device: Device, now: float) -> bool:
    """The registration written at `now` is what turned the device off (not an earlier denial)."""
    return device.deactivated_reason == PERMISSION_DENIED and device.deactivated_at == now


def _tags_by_user(registrations: Sequence[DeviceRegistration]) -> dict[str, list[str]]:
    """The tags each user (by external id) is given in this batch, each once, in order."""
    tags: dict[str, list[str]] = {}
    for registration in registrations:
        if registration.tags and registration.user_external_id is not None:
            tags.setdefault(registration.user_external_id, []).extend(registration.tags)
    return {user: list(dict.fromkeys(given)) for user, given in tags.items()}


def _select_devices() -> Select[Any]:
    columns = [c for c in devices.c if c.name != "subscription"]
    return select(*columns, users.c.external_id).select_from(
        devices.outerjoin(users, users.c.id == devices.c.user_id)
    )


def _upsert_statement(dialect: Any) -> Executable:
    insert = dialect.insert(devices)
    excluded = insert.excluded
    return cast(
        Executable,
        insert.on_conflict_do_update(
            index_elements=["app_id", "platform", "token"],
            set_={
                "user_id": func.coalesce(excluded.user_id, devices.c.user_id),
                "subscription": excluded.subscription,
                "timezone": func.coalesce(excluded.timezone, devices.c.timezone),
                "locale": func.coalesce(excluded.locale, devices.c.locale),
                "active": excluded.active,
                "deactivated_reason": excluded.deactivated_reason,
                # Denied again: still the same turning off, which keeps its time (and its one notice).
                "deactivated_at": case(
                    (_denied_before_and_now(excluded.deactivated_reason), devices.c.deactivated_at),
                    else_=excluded.deactivated_at,
                ),
                "last_seen_at": excluded.last_seen_at,
                "updated_at": excluded.updated_at,
                "vendor": excluded.vendor,
                "installation_id": func.coalesce(excluded.installation_id, devices.c.installation_id),
            },
        ),
    )


_UPSERT = {"sqlite": _upsert_statement(sqlite), "postgresql": _upsert_statement(postgresql)}
_INSERT_NEW = {
    "sqlite": sqlite.insert(devices).on_conflict_do_nothing(index_elements=["app_id", "platform", "token"]),
    "postgresql": postgresql.insert(devices).on_conflict_do_nothing(
        index_elements=["app_id", "platform", "token"]
    ),
}


def _upsert(connection: Connection, rows: list[dict[str, Any]]) -> None:
    # Rows without a subscription omit the column so it stays SQL NULL, not JSON null.
    for has_subscription in (True, False):
        group = [row for row in rows if ("subscription" in row) == has_subscription]
        if group:
            run(connection, _UPSERT[connection.dialect.name], group)


def _chunks(keys: Iterable[Key]) -> Iterator[tuple[str, list[str]]]:
    """Tokens by platform, in chunks: looked up by (platform, token), the unique index's own
    columns; by token alone a lookup could only use the index's app_id prefix and would scan
    every device of the app for each chunk."""
    by_platform: dict[str, list[str]] = {}
    for platform, token in dict.fromkeys(keys):
        by_platform.setdefault(platform, []).append(token)
    for platform, tokens in by_platform.items():
        for start in range(0, len(tokens), _LOOKUP_CHUNK):
            yield platform, tokens[start : start + _LOOKUP_CHUNK]


def _find(connection: Connection, app_id: str, keys: Iterable[Key]) -> dict[Key, Device]:
    found: dict[Key, Device] = {}
    for platform, tokens in _chunks(keys):
        query = _select_devices().where(
            devices.c.app_id == app_id, devices.c.platform == platform, devices.c.token.in_(tokens)
        )
        for row in connection.execute(query).mappings():
            found[(platform, row["token"])] = _device(row)
    return found


_NEW_IDS = select(func.count()).select_from(devices).where(devices.c.id.in_(bindparam("ids", expanding=True)))


def _outcome(
    connection: Connection, app_id: str, rows: dict[Key, dict[str, Any]], now: float
) -> BatchOutcome:
    """New devices are those whose row kept the id this write made (one count over the primary
    key); only devices registered as `denied` are read back, to tell who was turned off now."""
    ids = [row["id"] for row in rows.values()]
    created = 0
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        created += int(next(iter(run(connection, _NEW_IDS, {"ids": ids[start : start + _LOOKUP_CHUNK]})))[0])
    denied = [key for key, row in rows.items() if row["deactivated_reason"] == PERMISSION_DENIED]
    turned_off = {
        device.user_id
        for device in _find(connection, app_id, denied).values()
        if _turned_off_at(device, now) and device.user_id is not None
    }
    return BatchOutcome(created, turned_off)


class DeviceRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def register(self, app_id: str, registration: DeviceRegistration) -> Registered:
        return (await self.register_many(app_id, [registration]))[0]

    async def register_many(
        self, app_id: str, registrations: Sequence[DeviceRegistration]
    ) -> list[Registered]:
        """Upsert many devices in one transaction with `executemany`; results follow the input order."""
        now = self._clock.now()

        def write(connection: Connection) -> tuple[dict[Key, dict[str, Any]], dict[Key, Device]]:
            rows = self._write(connection, app_id, registrations, now)
            return rows, _find(connection, app_id, rows)

        # One hand-off to the writer: a batch of thousands is a handful of statements, not a
        # thread crossing per statement and fetch (store/db.py, `transact`).
        rows, stored = await self._db.transact(write)
        return [
            Registered(stored[key], stored[key].id == rows[key]["id"], _turned_off_at(stored[key], now))
            for key in ((r.platform, r.token) for r in registrations)
        ]

    async def register_counted(
        self, app_id: str, registrations: Sequence[DeviceRegistration]
    ) -> BatchOutcome:
        """`register_many` for bulk imports: the same writes, answered with what a report needs
        instead of every device read back."""
        now = self._clock.now()

        def write(connection: Connection) -> BatchOutcome:
            return _outcome(connection, app_id, self._write(connection, app_id, registrations, now), now)

        return await self._db.transact(write)

    async def known_or_new(
        self, app_id: str, registrations: Sequence[DeviceRegistration]
    ) -> dict[Key, Device]:
        """The devices of these registrations by (platform, token), registering (without a user) those
        the app does not have yet and leaving known ones as they are: a send naming tokens (Gorush's
        `/api/push`) must not revive a token a provider declared dead, as registering would."""
        now = self._clock.now()
        latest = {(r.platform, r.token): r for r in registrations}
        rows = [self._row(app_id, registration, {}, now) for registration in latest.values()]

        def write(connection: Connection) -> dict[Key, Device]:
            if rows:
                run(connection, _INSERT_NEW[connection.dialect.name], rows)
            return _find(connection, app_id, latest)

        return await self._db.transact(write)

    def _write(
        self, connection: Connection, app_id: str, registrations: Sequence[DeviceRegistration], now: float
    ) -> dict[Key, dict[str, Any]]:
        """Users, their tags and the devices; the rows written, by (platform, token)."""
        latest = {(r.platform, r.token): r for r in registrations}
        seeds: dict[str, dict[str, Any]] = {
            r.user_external_id: {"timezone": r.timezone, "locale": r.locale}
            for r in reversed(registrations)
            if r.user_external_id is not None
        }
        tags = _tags_by_user(registrations)
        for external_id, given in tags.items():  # new users are created with them
            seeds[external_id] = {**seeds[external_id], "tags": given}
        user_ids = ensure_user_ids(connection, app_id, list(seeds), now, seeds)
        add_tags(connection, {user_ids[external_id]: given for external_id, given in tags.items()}, now)
        rows = {key: self._row(app_id, r, user_ids, now) for key, r in latest.items()}
        _upsert(connection, list(rows.values()))
        return rows

    @staticmethod
    def _row(
        app_id: str, registration: DeviceRegistration, user_ids: dict[str, str], now: float
    ) -> dict[str, Any]:
        external = registration.user_external_id
        denied = registration.push_permission == "denied"
        row: dict[str, Any] = {
            "id": new_id("dev"),
            "app_id": app_id,
            "platform": registration.platform,
            "token": registration.token,
            "user_id": user_ids[external] if external is not None else None,
            "timezone": registration.timezone,
            "locale": registration.locale,
            "active": not denied,
            "deactivated_reason": PERMISSION_DENIED if denied else None,
            "deactivated_at": now if denied else None,
            "last_seen_at": now,
            "created_at": now,
            "updated_at": now,
            "vendor": registration.vendor,
            "installation_id": registration.installation_id,
        }
        if registration.subscription is not None:
            row["subscription"] = registration.subscription
        return row

    async def get(self, app_id: str, device_id: str) -> Device | None:
        query = _select_devices().where(devices.c.app_id == app_id, devices.c.id == device_id)
        async with self._db.read.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return _device(row) if row is not None else None

    async def report_permission(
        self, app_id: str, device_id: str, permission: Permission
    ) -> PermissionReported | None:
        """Apply the client's report: `denied` takes an active device out of sending, `granted`
        brings back only a device that was out for `PermissionDenied`. Either way the device was
        just seen."""
        now = self._clock.now()
        mine = (devices.c.app_id == app_id) & (devices.c.id == device_id)
        if permission == "denied":
            change = (
                update(devices)
                .where(mine, devices.c.active)
                .values(active=False, deactivated_reason=PERMISSION_DENIED, deactivated_at=now)
            )
        else:
            change = (
                update(devices)
                .where(mine, ~devices.c.active, devices.c.deactivated_reason == PERMISSION_DENIED)
                .values(active=True, deactivated_reason=None, deactivated_at=None)
            )
        async with self._db.writing() as connection:
            changed = bool((await connection.execute(change.values(updated_at=now))).rowcount)
            await connection.execute(update(devices).where(mine).values(last_seen_at=now))
            row = (await connection.execute(_select_devices().where(mine))).mappings().first()
        if row is None:
            return None
        return PermissionReported(_device(row), turned_off=changed and permission == "denied")

    async def list_for_user(self, app_id: str, user_id: str) -> list[Device]:
        query = (
            _select_devices()
            .where(devices.c.app_id == app_id, devices.c.user_id == user_id)
            .order_by(devices.c.created_at, devices.c.id)
        )
        async with self._db.read.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_device(row) for row in rows]

    async def delete(self, app_id: str, device_id: str) -> bool:
        async with self._db.writing() as connection:
            result = await connection.execute(
                delete(devices).where(devices.c.app_id == app_id, devices.c.id == device_id)
            )
        return bool(result.rowcount)
