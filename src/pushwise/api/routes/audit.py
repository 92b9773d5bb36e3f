"""`GET /v1/audit`: the audit log, newest first; the admin key sees every app, a server key its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pushwise.api.auth import AdminOrServer
from pushwise.api.deps import StoresDep
from pushwise.api.errors import ApiError
from pushwise.api.schemas.audit import AuditItemOut, AuditPage
from pushwise.api.schemas.common import row_id

router = APIRouter(prefix="/v1/audit", tags=["operations"])


@router.get("")
async def read_audit(
    principal: AdminOrServer,
    stores: StoresDep,
    cursor: Annotated[
        str | None, Query(max_length=20, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    before = row_id(cursor) if cursor is not None else None
    if cursor is not None and before is None:
        raise ApiError(400, "invalid_cursor", "cursor must be a value returned as next_cursor", "cursor")
    app_id = None if principal.kind == "admin" else principal.app_id_required
    entries = await stores.audit.page(app_id=app_id, before=before, limit=limit)
    more = len(entries) == limit
    return AuditPage(
        items=[AuditItemOut.of(entry) for entry in entries], next_cursor=str(entries[-1].id) if more else None
    )
