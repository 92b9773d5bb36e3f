"""`/healthz` (the process answers) and `/readyz` (it can serve: database up, schema current)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from sqlalchemy import text
from starlette.responses import Response

from pushwise.api.deps import ServicesDep
from pushwise.api.errors import ApiError, error_response
from pushwise.store.migrate import is_current

router = APIRouter(tags=["health"])
log = logging.getLogger("pushwise.api")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None, responses={503: {"description": "Not ready; the error says why"}})
async def readyz(services: ServicesDep) -> dict[str, str] | Response:
    try:
        async with services.db.read.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await is_current(services.db.read)
    except Exception as error:  # any failure to reach the database means "not ready"
        log.warning("readiness check: database unreachable: %s", error)
        return error_response(ApiError(503, "database_unreachable", "the database does not answer"))
    if not current:
        return error_response(
            ApiError(
                503,
                "schema_outdated",
                "the database schema is not at the current migration: run `pushwise db upgrade`",
            )
        )
    return {"status": "ready"}
