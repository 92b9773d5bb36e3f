"""Which database errors the API answers as a 503 outage (with the reason) instead of a 500."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from pushwise.simulators.handle import free_port
from pushwise.store.outages import DATABASE_UNAVAILABLE, STORAGE_FULL, outage_reason


class PgError(Exception):
    """What SQLAlchemy's asyncpg adapter raises: the SQLSTATE on `sqlstate`."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def wrapped(cause: Exception, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError.instance("INSERT ...", {}, cause, Exception, connection_invalidated=invalidated)


def sqlite_error(code: int, message: str) -> sqlite3.Error:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


def test_a_full_sqlite_disk_is_storage_full() -> None:
    assert (
        outage_reason(wrapped(sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full"))) == STORAGE_FULL
    )


def test_other_sqlite_errors_are_not_outages() -> None:
    assert outage_reason(wrapped(sqlite_error(sqlite3.SQLITE_ERROR, "no such table: x"))) is None


def test_postgres_disk_full_and_connection_failures() -> None:
    assert outage_reason(wrapped(PgError("53100"))) == STORAGE_FULL
    assert outage_reason(wrapped(PgError("08006"))) == DATABASE_UNAVAILABLE
    assert outage_reason(wrapped(PgError("57P01"))) == DATABASE_UNAVAILABLE
    assert outage_reason(wrapped(PgError("23505"))) is None  # a unique violation is a bug, not an outage
    assert outage_reason(wrapped(ConnectionResetError(), invalidated=True)) == DATABASE_UNAVAILABLE


async def test_a_refused_connect_from_the_pool_is_the_database_unavailable() -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    try:
        with pytest.raises(OSError) as refused:
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    assert outage_reason(refused.value) == DATABASE_UNAVAILABLE


def test_an_os_error_raised_elsewhere_is_not_an_outage() -> None:
    with pytest.raises(ConnectionRefusedError) as refused:
        raise ConnectionRefusedError("a provider refused")
    assert outage_reason(refused.value) is None
