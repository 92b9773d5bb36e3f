"""Database engines for SQLite (embedded default) and PostgreSQL.

SQLite allows one writer at a time. Rather than let connections race for the
lock and fail with SQLITE_BUSY, all writes of a process take turns (`WriteTurns`),
and every write transaction opens with `BEGIN IMMEDIATE`; reads use a separate
pool and, thanks to WAL, never wait for the writer. On PostgreSQL both roles share
one pool.

Hot paths hand a whole transaction over as one synchronous function: writes with
`Database.transact`, the workers' per-batch reads with `Database.query`. On SQLite
each runs on a thread of its own (one writer, one reader) in a single hand-off,
instead of one thread hand-off per statement, fetch and commit as the async driver
does (about twenty for an accept); on PostgreSQL the same function runs through
`run_sync` on the pool. Cold paths keep the async engines.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

T = TypeVar("T")

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


class WriteTurns:
    """Who gets SQLite's single writer next: urgent work (an API request) before background batches.

    Without it, a request accepting one notification queues behind every claim and
    record transaction of the workers in the same process, and its latency grows with
    their load. Background work still runs whenever no request is waiting.
    """

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._background: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def turn(self, *, urgent: bool) -> AsyncIterator[None]:
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if not self._busy:
            self._busy = True
            return
        waiter = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._background
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the turn was handed over just as we were cancelled: pass it on
            elif waiter in queue:  # a release in between may already have dropped it
                queue.remove(waiter)
            raise

    def _release(self) -> None:
        for waiting in (self._urgent, self._background):
            while waiting:
                waiter = waiting.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # handed over: still busy
                    return
        self._busy = False


class SqliteThread:
    """One SQLite connection on a thread of its own, running whole transactions at a time.

    The writer is one (`BEGIN IMMEDIATE`), and a reader for the workers' per-batch reads
    another. The connection is opened once and kept: checking it out of a pool for every
    transaction cost a quarter of an accept's time on the writer.
    """

    def __init__(self, url: str, *, immediate: bool) -> None:
        self.engine = _sqlite_sync_engine(url, immediate=immediate)
        role = "writer" if immediate else "reader"
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"pushwise-sqlite-{role}")
        self._conn: Connection | None = None  # touched only on this thread

    async def run(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._in_transaction, work)

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        if self._conn is None or self._conn.invalidated:
            self._conn = self.engine.connect()
        with self._conn.begin():
            return work(self._conn)

    async def reconnect(self) -> None:
        """Open a new connection for the next transaction: it reads the current planner statistics.

        (Disposing of the engine closes the pooled connection; the engine makes a new one on demand.)
        """
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()

    async def dispose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)


@dataclass(frozen=True)
class Database:
    write: AsyncEngine
    read: AsyncEngine
    dialect: str
    turns: WriteTurns = field(default_factory=WriteTurns, compare=False)
    sqlite_writer: SqliteThread | None = field(default=None, compare=False)
    sqlite_reader: SqliteThread | None = field(default=None, compare=False)

    @asynccontextmanager
    async def writing(self, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction; on SQLite, urgent ones are served first (see `WriteTurns`)."""
        if not self.is_sqlite:
            async with self.write.begin() as conn:
                yield conn
            return
        async with self.turns.turn(urgent=urgent), self.write.begin() as conn:
            yield conn

    async def transact(self, work: Callable[[Connection], T], *, urgent: bool = False) -> T:
        """Run `work` as one write transaction; it commits when `work` returns, rolls back if it raises.

        `work` is synchronous and must not wait on anything but the database: on
        SQLite it holds the single writer for its whole run.
        """
        if self.sqlite_writer is None:
            async with self.write.begin() as conn:
                return await conn.run_sync(work)
        async with self.turns.turn(urgent=urgent):
            return await self.sqlite_writer.run(work)

    async def query(self, work: Callable[[Connection], T]) -> T:
        """Run the synchronous read `work` in one hand-off: the hot reads' `transact`.

        On SQLite it runs on a reader thread of its own (WAL: never waits for the writer).
        """
        if self.sqlite_reader is None:
            async with self.read.connect() as conn:
                return await conn.run_sync(work)
        return await self.sqlite_reader.run(work)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    async def reload_statistics(self) -> None:
        """After an `ANALYZE`: SQLite connections read planner statistics when they open, so the
        read connections are replaced (the writer, which ran it, already uses them)."""
        if self.sqlite_reader is not None:
            await self.sqlite_reader.reconnect()
        await self.read.dispose()

    async def dispose(self) -> None:
        await self.write.dispose()
        if self.read is not self.write:
            await self.read.dispose()
        for thread in (self.sqlite_writer, self.sqlite_reader):
            if thread is not None:
                await thread.dispose()


def application_name() -> str:
    """How this process shows in `pg_stat_activity`: operators (and chaos tests) can find its sessions."""
    return f"pushwise:{os.getpid()}"


def open_database(url: str, *, pool_size: int = 10) -> Database:
    """`pool_size` is per process: size it to the batch loops and requests one process runs."""
    driver_url = async_url(url)
    if make_url(driver_url).get_backend_name() == "sqlite":
        write = _sqlite_engine(driver_url, immediate=True, pool_size=1)
        read = _sqlite_engine(driver_url, immediate=False, pool_size=pool_size)
        sync_url = make_url(driver_url).set(drivername="sqlite").render_as_string()
        writer, reader = SqliteThread(sync_url, immediate=True), SqliteThread(sync_url, immediate=False)
        return Database(write, read, "sqlite", sqlite_writer=writer, sqlite_reader=reader)
    engine = create_async_engine(
        driver_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,  # a restarted server or a killed session costs one retry, not an error
        pool_timeout=30,
        connect_args={"server_settings": {"application_name": application_name()}, "timeout": 10},
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        hide_parameters=True,  # errors and logs never show bound values: tokens, e-mail addresses
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
        hide_parameters=True,  # errors and logs never show bound values: tokens, e-mail addresses
        connect_args={"timeout": 30},
    )
    _prepare_sqlite(engine.sync_engine, immediate=immediate)
    return engine


def _sqlite_sync_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=0,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        hide_parameters=True,  # errors and logs never show bound values: tokens, e-mail addresses
        # Created on the event loop's thread, used only on its own thread.
        connect_args={"timeout": 30, "check_same_thread": False},
    )
    _prepare_sqlite(engine, immediate=immediate)
    return engine


def _prepare_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
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
        if immediate:
            # The writers leave checkpoints to `store.checkpoints.WalCheckpoints` (see there);
            # this is only the safety net (about 80 MB of log).
            cursor.execute("PRAGMA wal_autocheckpoint=20000")
        _ensure_math_functions(dbapi_connection, cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _ensure_math_functions(dbapi_connection: Any, cursor: Any) -> None:
    """Decayed values (interests, propensity) are computed in SQL with `exp`: SQLite has it
    only when built with its math functions (most builds since 3.35); otherwise Python's."""
    try:
        cursor.execute("SELECT exp(0)")
    except Exception:  # the driver's OperationalError, whichever driver it is
        dbapi_connection.create_function("exp", 1, math.exp, deterministic=True)
