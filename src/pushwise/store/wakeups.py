"""Wake idle workers within milliseconds of new work, across processes (PostgreSQL).

Acceptance sends `NOTIFY pushwise_deliveries` inside its transaction, so the
signal goes out exactly when the deliveries become visible. Every worker process
keeps one connection that LISTENs and wakes its batch loops. Polling stays as
the safety net: a lost connection or a missed notification only costs a poll
interval, and after reconnecting the listener wakes everyone once in case
something arrived while it was away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Connection, text

from pushwise.store.db import Database, application_name

CHANNEL = "pushwise_deliveries"
log = logging.getLogger(__name__)

_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")


def announce_work(conn: Connection) -> None:
    """Inside a write transaction: tell listening workers once it commits (no-op on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY)


class WakeupListener:
    """One LISTEN connection per process; calls every subscriber on each notification."""

    def __init__(self, db: Database, *, retry_seconds: float = 1.0) -> None:
        self._dsn = db.write.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._enabled = not db.is_sqlite
        self._retry_seconds = retry_seconds
        self._subscribers: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def subscribe(self, wake: Callable[[], None]) -> None:
        self._subscribers.append(wake)

    async def start(self) -> None:
        """Start listening in the background (nothing to do on SQLite: one process wakes itself)."""
        if self._enabled and self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name="pushwise-wakeups")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _wake_all(self, *_: Any) -> None:
        for wake in self._subscribers:
            wake()

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen_once()
            except Exception as error:  # any failure of this one connection: reconnect, keep polling
                log.warning("wake-up listener lost the database (%s); polling until it is back", error)
            self.connected.clear()
            await asyncio.sleep(self._retry_seconds)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(
            self._dsn, timeout=10, server_settings={"application_name": f"{application_name()}:wakeups"}
        )
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _connection: closed.set())
        try:
            await connection.add_listener(CHANNEL, self._wake_all)
            self.connected.set()
            self._wake_all()  # anything accepted while we were not listening
            while not closed.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), 15)
                if not closed.is_set():
                    await connection.execute("SELECT 1")  # notice a silently dead peer
        finally:
            with suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)
