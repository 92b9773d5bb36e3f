"""Delivery workers as a background service of a long-running process."""

from __future__ import annotations

import asyncio

from pushwise.delivery.worker import DeliveryWorker


class WorkerService:
    """Starts a worker's batch loops in the background and stops them gracefully.

    Stopping lets the batches in flight finish and record their outcomes, so a
    SIGTERM (deploy, scale-down) loses nothing and leaves no lease to wait out.
    """

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.worker.run(), name=f"delivery-worker-{self.worker.owner}")

    async def stop(self) -> None:
        await self.worker.stop()
        if self._task is not None:
            await self._task
            self._task = None
