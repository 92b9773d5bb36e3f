"""The audit log: who (a key id, never the key) did what to which app, when and from where.

Written for actions that change how an app is set up (apps, keys, providers, receipts, alert
sinks and rules, ...), not for traffic (sends, devices, events): the log must stay small
enough to read, and writing it must stay off the sending path. Paged newest first by id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from pushwise.domain.clock import Clock
from pushwise.store.db import Database
from pushwise.store.schema import audit_log

# The admin key from the settings has no id; its actions are signed with this name.
SETTINGS_ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    app_id: str | None
    action: str
    target: str | None
    ip: str | None


class AuditLog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def record(
        self, actor: str, action: str, *, app_id: str | None, target: str | None, ip: str | None
    ) -> None:
        row = {
            "at": self._clock.now(),
            "actor": actor,
            "app_id": app_id,
            "action": action,
            "target": target[:200] if target else None,
            "ip": ip,
        }

        def write(connection: Connection) -> None:
            connection.execute(audit_log.insert().values(row))

        await self._db.transact(write, urgent=True)

    async def page(self, *, app_id: str | None, before: int | None, limit: int) -> list[AuditEntry]:
        """Newest first; `app_id` None reads every app's entries (and those naming no app)."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if app_id is not None:
            query = query.where(audit_log.c.app_id == app_id)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        async with self._db.read.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [AuditEntry(**row) for row in rows]
