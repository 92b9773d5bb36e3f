"""`GET /v1/audit`: the audit log, newest first; the admin key sees every app, a server key its own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pushwise.api.auth import AdminOrServer
from pushwise.api.deps import StoresDep
from pushwise.api.errors import ApiError
from pushwise.api.schemas.common import at
from pushwise.store.audit import AuditEntry

router = APIRouter(prefix="/v1/audit", tags=["operations"])


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


@router.get("")
async def read_audit(
    principal: AdminOrServer,
    stores: StoresDep,
    cursor: Annotated[
        str | None, Query(max_length=20, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    if cursor is not None and not cursor.isdigit():
        raise ApiError(400, "invalid_cursor", "cursor must be a value returned as next_cursor", "cursor")
    app_id = None if principal.kind == "admin" else principal.app_id_required
    entries = await stores.audit.page(app_id=app_id, before=int(cursor) if cursor else None, limit=limit)
    more = len(entries) == limit
    return AuditPage(
        items=[AuditItemOut.of(entry) for entry in entries], next_cursor=str(entries[-1].id) if more else None
    )
