"""The campaign runner as a background service: one sweep a second, on the cluster's leader only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

from pushwise.campaigns.runner import CampaignRunner

log = logging.getLogger(__name__)


class CampaignService:
    def __init__(
        self, runner: CampaignRunner, is_leader: Callable[[], Awaitable[bool]], *, interval: float = 1.0
    ) -> None:
        self.runner = runner
        self._is_leader = is_leader
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                if await self._is_leader():
                    await self.runner.sweep()
            except Exception:  # a campaign that fails must not stop the others, nor the process
                log.exception("campaign sweep failed")
            await asyncio.sleep(self._interval)
