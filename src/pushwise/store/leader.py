"""Leader election for jobs that must run once per installation, not once per process.

Schedulers, rollups and other periodic jobs run in every `pushwise` process, but
only the holder of a job's PostgreSQL advisory lock does the work. The lock
lives in one dedicated session: if the process dies or its connection drops, the
server frees the lock and another process takes the job over at its next try.
On SQLite there is one process, which always leads.

Usage, e.g. in a periodic job::

    if await leadership.acquire("rollups"):
        await roll_up()

or for one run: ``async with leadership.hold("rollups") as leading: ...``.
Leadership is checked when acquired; a job that runs long should call
`acquire` again between steps (it is cheap while held) and stop when it fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.store.db import Database

log = logging.getLogger(__name__)

# First key of the two-key advisory lock: keeps pushwise's locks apart from any
# other application's in the same database. The second key is hashtext(name).
LOCK_NAMESPACE = 0x5057  # "PW"

_TRY_LOCK = text("SELECT pg_try_advisory_lock(:namespace, hashtext(:name))")
_UNLOCK = text("SELECT pg_advisory_unlock(:namespace, hashtext(:name))")
_ALIVE = text("SELECT 1")


class Leadership:
    """The leader-only jobs this process holds, on one dedicated database session."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._session: AsyncConnection | None = None
        self._held: set[str] = set()
        self._lock = asyncio.Lock()

    def is_leader(self, name: str) -> bool:
        """Whether this process held `name` at its last `acquire` (no database round-trip)."""
        return name in self._held

    async def acquire(self, name: str) -> bool:
        """Take (or confirm) the lead for job `name`; False while another process holds it."""
        if self._db.is_sqlite:
            self._held.add(name)
            return True
        async with self._lock:
            try:
                session = await self._live_session()
                if name in self._held:
                    return True
                won = bool((await session.execute(_TRY_LOCK, _params(name))).scalar())
            except Exception as error:  # database away: lead nothing until it is back
                log.warning("leader election for %r failed: %s", name, error)
                await self._drop_session()
                return False
            if won:
                self._held.add(name)
            return won

    async def release(self, name: str) -> None:
        """Hand job `name` to whichever process asks next."""
        if name not in self._held:
            return
        self._held.discard(name)
        if self._db.is_sqlite or self._session is None:
            return
        async with self._lock:
            try:
                await self._session.execute(_UNLOCK, _params(name))
            except Exception:  # the session is gone, and with it the lock
                await self._drop_session()

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        """Try to lead `name` for the block; yields whether this process leads it."""
        leading = await self.acquire(name)
        try:
            yield leading
        finally:
            if leading:
                await self.release(name)

    async def close(self) -> None:
        """Give up every lead (on shutdown), so another process takes over at once."""
        async with self._lock:
            self._held.clear()
            await self._drop_session()

    async def _live_session(self) -> AsyncConnection:
        """The lock session, checked: if it died, the server freed our locks, so we hold nothing."""
        if self._session is not None:
            try:
                await self._session.execute(_ALIVE)
                return self._session
            except Exception:
                log.warning("leader session lost; leading nothing until re-elected")
                await self._drop_session()
        session = await self._db.write.connect()
        await session.execution_options(isolation_level="AUTOCOMMIT")
        self._session = session
        return session

    async def _drop_session(self) -> None:
        self._held.clear()
        if self._session is not None:
            session, self._session = self._session, None
            with suppress(Exception):
                await session.invalidate()
            with suppress(Exception):
                await session.close()


def _params(name: str) -> dict[str, object]:
    return {"namespace": LOCK_NAMESPACE, "name": f"pushwise:{name}"}
