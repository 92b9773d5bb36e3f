"""An app's sending policy document (`PUT /v1/apps/{app_id}/policy`), and the route order in it.

Today the document holds `android_routes`; the gate adds its own fields to the same
document. Planning reads the route order inside the accept transaction, once per
notification, never per device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from pushwise.domain.china.routes import DEFAULT_ROUTES
from pushwise.domain.clock import Clock
from pushwise.store.db import Database
from pushwise.store.schema import app_policies
from pushwise.store.upsert import upsert_into


class PolicyRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def get(self, app_id: str) -> dict[str, Any]:
        """The stored document ({} when the app never set one: every default applies)."""
        async with self._db.read.connect() as conn:
            found = await conn.scalar(select(app_policies.c.policy).where(app_policies.c.app_id == app_id))
        return dict(found or {})

    async def put(self, app_id: str, policy: dict[str, Any]) -> dict[str, Any]:
        statement = upsert_into(self._db, app_policies)
        now = self._clock.now()
        statement = statement.on_conflict_do_update(
            index_elements=["app_id"],
            set_={"policy": statement.excluded.policy, "updated_at": statement.excluded.updated_at},
        )
        async with self._db.writing() as conn:
            await conn.execute(statement, {"app_id": app_id, "policy": policy, "updated_at": now})
        return policy

    async def routes_of(self, app_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Each app's `android_routes` (the default for apps without a policy), in one read."""
        async with self._db.read.connect() as conn:
            rows = await conn.execute(
                select(app_policies.c.app_id, app_policies.c.policy).where(app_policies.c.app_id.in_(app_ids))
            )
            found = {row.app_id: _routes(row.policy) for row in rows}
        return {app_id: found.get(app_id, DEFAULT_ROUTES) for app_id in app_ids}


def app_routes(conn: Connection, app_id: str) -> tuple[str, ...]:
    """The app's route order, read inside the caller's (accept) transaction."""
    policy = conn.execute(select(app_policies.c.policy).where(app_policies.c.app_id == app_id)).scalar()
    return _routes(policy)


def _routes(policy: Any) -> tuple[str, ...]:
    routes = policy.get("android_routes") if isinstance(policy, dict) else None
    return tuple(routes) if routes else DEFAULT_ROUTES
