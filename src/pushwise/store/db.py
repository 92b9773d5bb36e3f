"""Database engines for SQLite (embedded default) and PostgreSQL.

SQLite allows one writer at a time. Rather than let connections race for the
lock and fail with SQLITE_BUSY, all writes go through a write engine with a single
pooled connection that opens every transaction with `BEGIN IMMEDIATE`; reads use a
separate pool and, thanks to WAL, never wait for the writer. On PostgreSQL both
roles share one pool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """Accept the plain URLs users write (`sqlite:///./x.db`, `postgresql://...`)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if parsed.drivername in _DRIVERS:
        parsed = parsed.set(drivername=_DRIVERS[parsed.drivername])
    elif backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
    return parsed.render_as_string(hide_password=False)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class Database:
    write: AsyncEngine
    read: AsyncEngine
    dialect: str

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    async def dispose(self) -> None:
        await self.write.dispose()
        if self.read is not self.write:
            await self.read.dispose()


def application_name() -> str:
    """How this process shows in `pg_stat_activity`: operators (and chaos tests) can find its sessions."""
    return f"pushwise:{os.getpid()}"


def open_database(url: str, *, pool_size: int = 10) -> Database:
    """`pool_size` is per process: size it to the batch loops and requests one process runs."""
    driver_url = async_url(url)
    if make_url(driver_url).get_backend_name() == "sqlite":
        write = _sqlite_engine(driver_url, immediate=True, pool_size=1)
        read = _sqlite_engine(driver_url, immediate=False, pool_size=pool_size)
        return Database(write, read, "sqlite")
    engine = create_async_engine(
        driver_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,  # a restarted server or a killed session costs one retry, not an error
        pool_timeout=30,
        connect_args={"server_settings": {"application_name": application_name()}, "timeout": 10},
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )
    return Database(engine, engine, "postgresql")


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        poolclass=AsyncAdaptedQueuePool,
        pool_size=pool_size,
        max_overflow=0,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"timeout": 30},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so we can choose BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "busy_timeout=30000",
            "foreign_keys=ON",
            "temp_store=MEMORY",
            "cache_size=-65536",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
