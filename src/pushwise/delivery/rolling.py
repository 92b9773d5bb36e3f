"""A claimed batch's outcomes, written as they arrive rather than once the whole batch is sent.

A worker killed with SIGKILL re-sends every delivery it had sent but not recorded (its
claims come back when their lease runs out), so outcomes should not wait for the slowest
send of their batch. Each write is one transaction, so they are not written one by one
either: `domain/flush.py` says when what waits is written (by count, by age), one write
at a time per batch, everything that arrived during a write going into the next.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from pushwise.domain.flush import FlushPolicy, flush_deadline, flush_due

log = logging.getLogger(__name__)

Entry = TypeVar("Entry")


class RollingRecord(Generic[Entry]):
    """Collects entries and hands them to `write` in groups, as the flush policy says."""

    def __init__(self, write: Callable[[list[Entry]], Awaitable[None]], policy: FlushPolicy) -> None:
        self._write = write
        self._policy = policy
        # The event loop's monotonic clock: how long outcomes sit in memory is a wall-clock
        # matter, whatever clock (simulated in tests) the deliveries themselves run on.
        self._loop = asyncio.get_running_loop()
        self._waiting: list[Entry] = []
        self._oldest_at = 0.0
        self._writing: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._failure: Exception | None = None

    def add(self, entry: Entry) -> None:
        if not self._waiting:
            self._oldest_at = self._loop.time()
        self._waiting.append(entry)
        self._consider()

    async def close(self) -> None:
        """Write whatever still waits and wait for every write; raise the first write's failure."""
        while self._writing is not None or self._waiting:
            if self._writing is None:
                self._start()
            assert self._writing is not None
            await self._writing
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def _consider(self) -> None:
        if self._writing is not None or not self._waiting:
            return  # a finished write considers again
        if flush_due(self._policy, len(self._waiting), self._oldest_at, self._loop.time()):
            self._start()
        elif self._timer is None:
            self._timer = self._loop.call_at(flush_deadline(self._policy, self._oldest_at), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._consider()

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        group, self._waiting = self._waiting, []
        self._writing = asyncio.create_task(self._write_group(group))

    async def _write_group(self, group: list[Entry]) -> None:
        try:
            await self._write(group)
        except Exception as error:  # these come back after their lease (at-least-once); go on with the rest
            if self._failure is None:
                self._failure = error
            else:
                log.warning("writing %d outcomes failed", len(group), exc_info=True)
        finally:
            self._writing = None
            self._consider()
