"""Keep SQLite's write-ahead log short from the side, so the writer never stops to do it.

By default the connection whose commit pushes the WAL past 1000 pages copies it
back into the database file and fsyncs, inside that commit: on a slow disk the
single writer, and every API request queued behind it, stalls for hundreds of
milliseconds. A passive checkpoint from a read connection every second does the
same work beside the writer instead; the writer's own threshold is raised to a
safety net for processes that run no checkpointer.

The same loop keeps the query planner's statistics current (`planner_statistics`):
every `statistics_seconds` it analyzes the audience tables that outgrew theirs.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from pushwise.store.db import Database
from pushwise.store.planner_statistics import refresh

log = logging.getLogger(__name__)


class WalCheckpoints:
    def __init__(
        self, db: Database, *, every_seconds: float = 1.0, statistics_seconds: float = 600.0
    ) -> None:
        self._db = db
        self._every = every_seconds
        self._statistics_every = statistics_seconds
        self._task: asyncio.Task[None] | None = None

    async def checkpoint(self) -> None:
        async with self._db.read.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    async def refresh_statistics(self) -> list[str]:
        """Analyze the audience tables that outgrew their statistics; returns those analyzed."""
        analyzed = await self._db.transact(refresh)
        if analyzed:
            log.info("planner statistics refreshed for %s", ", ".join(analyzed))
            await self._db.reload_statistics()
        return analyzed

    async def start(self) -> None:
        if self._db.is_sqlite:
            self._task = asyncio.create_task(self._run(), name="wal-checkpoints")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        statistics_due = loop.time() + self._every
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.checkpoint()
            except Exception:  # a busy or vanished database: the writer's own threshold still holds
                log.warning("WAL checkpoint failed", exc_info=True)
            if loop.time() >= statistics_due:
                statistics_due = loop.time() + self._statistics_every
                try:
                    await self.refresh_statistics()
                except Exception:  # queries still run without statistics, only slower
                    log.warning("refreshing planner statistics failed", exc_info=True)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
