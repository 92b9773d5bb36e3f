"""`GET /v1/audit`: entries of the audit log and their pages."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from pushwise.api.schemas.common import at
from pushwise.store.audit import AuditEntry


class AuditItemOut(BaseModel):
    at: datetime
    actor: str
    app_id: str | None
    action: str
    target: str | None
    ip: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditItemOut:
        return cls(
            at=at(entry.at),
            actor=entry.actor,
            app_id=entry.app_id,
            action=entry.action,
            target=entry.target,
            ip=entry.ip,
        )


class AuditPage(BaseModel):
    items: list[AuditItemOut]
    next_cursor: str | None
