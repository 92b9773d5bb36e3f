"""Installations in SQL: plan one delivery per installation, find an installation's other routes.

The planner keeps a device of an installation only when no other active device of the
same installation ranks before it in the app's route order (ties broken by device id),
so one `INSERT ... SELECT` makes exactly one delivery per installation, in one snapshot,
however many devices register meanwhile. The worker then looks up the installation's
other active devices for a whole batch in one read, and the pure rules of
`pushwise.domain.china.routes` pick where a delivery goes next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import NamedFromClause

from pushwise.domain.china.routes import ROUTES, RouteDevice
from pushwise.store.db import Database
from pushwise.store.schema import devices

ANDROID = "android"
CHANNEL_OF_PLATFORM = {"ios": "apns", "android": "fcm", "web": "webpush"}


def rank_params(routes: Sequence[str]) -> dict[str, int | None]:
    """Bind values of each route's position in the app's order (None: the app does not use it)."""
    return {f"{route}_rank": routes.index(route) if route in routes else None for route in ROUTES}


def _rank(table: NamedFromClause) -> ColumnElement[Any]:
    return case(
        (table.c.vendor.is_not(None), bindparam("vendor_rank", type_=Integer)),
        else_=bindparam("fcm_rank", type_=Integer),
    )


def device_channel(table: NamedFromClause = devices) -> ColumnElement[Any]:
    """The channel a device is reached on: its vendor's, else its platform's."""
    return func.coalesce(
        table.c.vendor, case(CHANNEL_OF_PLATFORM, value=table.c.platform, else_=table.c.platform)
    )


def first_of_installation() -> ColumnElement[bool]:
    """True for a device outside any installation, or its installation's first route."""
    sibling = devices.alias("sibling")
    mine, theirs = _rank(devices), _rank(sibling)
    better = exists().where(
        sibling.c.app_id == devices.c.app_id,
        sibling.c.installation_id == devices.c.installation_id,
        sibling.c.platform == ANDROID,
        sibling.c.active,
        sibling.c.id != devices.c.id,
        theirs.is_not(None),
        or_(theirs < mine, and_(theirs == mine, sibling.c.id < devices.c.id)),
    )
    return or_(
        devices.c.installation_id.is_(None),
        devices.c.platform != ANDROID,
        and_(mine.is_not(None), ~better),
    )


class InstallationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def siblings(self, device_ids: Sequence[str]) -> dict[str, tuple[RouteDevice, list[RouteDevice]]]:
        """For each device of an installation: itself, and every active Android device of the
        installation (itself included while active)."""
        if not device_ids:
            return {}
        current = devices.alias("current")
        query = (
            select(
                current.c.id.label("of"),
                current.c.vendor.label("of_vendor"),
                device_channel(current).label("of_channel"),
                devices.c.id,
                devices.c.vendor,
                device_channel().label("channel"),
            )
            .select_from(
                current.join(
                    devices,
                    and_(
                        devices.c.app_id == current.c.app_id,
                        devices.c.installation_id == current.c.installation_id,
                    ),
                )
            )
            .where(
                current.c.id.in_(list(device_ids)),
                current.c.installation_id.is_not(None),
                current.c.platform == ANDROID,
                devices.c.platform == ANDROID,
                devices.c.active,
            )
        )
        found: dict[str, tuple[RouteDevice, list[RouteDevice]]] = {}
        async with self._db.read.connect() as conn:
            for row in await conn.execute(query):
                itself = RouteDevice(row.of, row.of_vendor, row.of_channel)
                found.setdefault(row.of, (itself, []))[1].append(RouteDevice(row.id, row.vendor, row.channel))
        return found
