"""Devices: one row per (app, platform, token), registered idempotently.

Registration is an `INSERT ... ON CONFLICT DO UPDATE`, so the same token sent
twice, or by twenty concurrent requests, is one device; registering again
reactivates a device that a provider had reported dead and bumps `last_seen_at`,
unless the client reports the notification permission `denied`, which keeps (or
makes) the device inactive for `PermissionDenied` (`pushwise.domain.push_permission`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.domain.clock import Clock
from pushwise.domain.push_permission import PERMISSION_DENIED, Permission
from pushwise.store.db import Database
from pushwise.store.ids import new_id
from pushwise.store.schema import devices, users
from pushwise.store.upsert import upsert_into
from pushwise.store.users import ensure_users

_LOOKUP_CHUNK = 500


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


def _select_devices() -> Select[Any]:
    columns = [c for c in devices.c if c.name != "subscription"]
    return select(*columns, users.c.external_id).select_from(
        devices.outerjoin(users, users.c.id == devices.c.user_id)
    )


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
        latest = {(r.platform, r.token): r for r in registrations}
        seeds = {
            r.user_external_id: {"timezone": r.timezone, "locale": r.locale}
            for r in reversed(registrations)
            if r.user_external_id is not None
        }
        async with self._db.writing() as connection:
            user_ids = await ensure_users(connection, app_id, list(seeds), now, seeds)
            rows = {key: self._row(app_id, r, user_ids, now) for key, r in latest.items()}
            await self._upsert(connection, list(rows.values()))
            stored = await self._find(connection, app_id, list(latest))
        return [
            Registered(stored[key], stored[key].id == rows[key]["id"], _turned_off_at(stored[key], now))
            for key in ((r.platform, r.token) for r in registrations)
        ]

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

    async def _upsert(self, connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        insert = upsert_into(self._db, devices)
        excluded = insert.excluded
        statement = insert.on_conflict_do_update(
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
        )
        # Rows without a subscription omit the column so it stays SQL NULL, not JSON null.
        for has_subscription in (True, False):
            group = [row for row in rows if ("subscription" in row) == has_subscription]
            if group:
                await connection.execute(statement, group)

    async def _find(
        self, connection: AsyncConnection, app_id: str, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], Device]:
        wanted = set(keys)
        tokens = sorted({token for _, token in keys})
        found: dict[tuple[str, str], Device] = {}
        for start in range(0, len(tokens), _LOOKUP_CHUNK):
            query = _select_devices().where(
                devices.c.app_id == app_id, devices.c.token.in_(tokens[start : start + _LOOKUP_CHUNK])
            )
            for row in (await connection.execute(query)).mappings():
                key = (row["platform"], row["token"])
                if key in wanted:
                    found[key] = _device(row)
        return found

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
