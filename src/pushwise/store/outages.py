"""Which database failures are the storage's bad day rather than a bug.

A full disk or a database that is restarting or out of reach fails a request through no fault of
the request; the API answers those with a 503 naming the reason (so a client retries later and
an operator sees why), where any other database error stays a 500.
"""

from __future__ import annotations

import sqlite3
import traceback

from sqlalchemy.exc import DBAPIError

STORAGE_FULL = "storage_full"
DATABASE_UNAVAILABLE = "database_unavailable"

# PostgreSQL SQLSTATEs: 53100 disk_full; class 08 (connection exceptions); 57P01-57P03 (the server
# is shutting down, crashed or cannot take connections yet).
_PG_FULL = "53100"
_PG_UNAVAILABLE = ("08", "57P01", "57P02", "57P03")


def outage_reason(error: BaseException) -> str | None:
    """STORAGE_FULL, DATABASE_UNAVAILABLE, or None for an error that is not an outage."""
    if isinstance(error, OSError):
        return DATABASE_UNAVAILABLE if _raised_opening_a_connection(error) else None
    if not isinstance(error, DBAPIError):
        return None
    cause = error.orig
    if isinstance(cause, sqlite3.Error):
        if getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(cause):
            return STORAGE_FULL
        return None
    state = str(getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None) or "")
    if state == _PG_FULL:
        return STORAGE_FULL
    if state.startswith(_PG_UNAVAILABLE) or error.connection_invalidated:
        return DATABASE_UNAVAILABLE
    return None


def _raised_opening_a_connection(error: OSError) -> bool:
    """A refused or timed-out connect reaches the caller as the bare `OSError` (SQLAlchemy wraps
    only the driver's own errors); it is the database's when it was raised inside the pool."""
    return any(
        frame.f_globals.get("__name__", "").startswith("sqlalchemy.pool")
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )
