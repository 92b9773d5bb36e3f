"""The dispatcher: claim a batch, send it, record every outcome in one write.

Several batch loops run concurrently in one worker so the provider connections
stay busy while a previous batch's outcomes are written. Any worker may die at
any moment; its claimed deliveries come back when their lease runs out
(at-least-once; duplicates are bounded by the batches in flight).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from pushwise.delivery.providers import ProviderRegistry
from pushwise.domain.backoff import RetryPolicy
from pushwise.domain.clock import Clock
from pushwise.domain.local_time import next_local_occurrence
from pushwise.domain.notification import NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind, local_rejection
from pushwise.domain.progress import Progress, after_attempt, device_gone, expired_before_send, wait_until
from pushwise.providers.base import Dispatch
from pushwise.store.notifications import NotificationRepository
from pushwise.store.queue import ClaimedDelivery, DeliveryQueue, DeliveryUpdate

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recorded:
    """One delivery's claimed state and what was just recorded for it."""

    claimed: ClaimedDelivery
    update: DeliveryUpdate
    at: float


class OutcomeListener(Protocol):
    """Sees every committed batch of outcomes (metrics, receipts, alerts). Must be quick."""

    async def recorded(self, batch: Sequence[Recorded]) -> None: ...


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    batch_size: int = 500
    concurrency: int = 4
    lease_seconds: float = 60.0
    poll_seconds: float = 0.2
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True, slots=True)
class PlannedNotification:
    spec: NotificationSpec
    created_at: float
    expires_at: float | None


class SpecCache:
    """Notification specs by id: parsed once per notification, not once per delivery."""

    def __init__(self, notifications: NotificationRepository, capacity: int = 10_000) -> None:
        self._notifications = notifications
        self._capacity = capacity
        self._entries: OrderedDict[str, PlannedNotification] = OrderedDict()

    async def load(self, notification_ids: set[str]) -> dict[str, PlannedNotification]:
        missing = [nid for nid in notification_ids if nid not in self._entries]
        if missing:
            for nid, row in (await self._notifications.specs(missing)).items():
                self._entries[nid] = PlannedNotification(
                    NotificationSpec.from_dict(row.spec), row.created_at, row.expires_at
                )
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return {nid: self._entries[nid] for nid in notification_ids if nid in self._entries}


class DeliveryWorker:
    def __init__(
        self,
        queue: DeliveryQueue,
        notifications: NotificationRepository,
        providers: ProviderRegistry,
        clock: Clock,
        rng: random.Random,
        options: WorkerOptions,
        *,
        owner: str | None = None,
        listeners: Sequence[OutcomeListener] = (),
    ) -> None:
        self._listeners = tuple(listeners)
        self._queue = queue
        self._providers = providers
        self._clock = clock
        self._rng = rng
        self._options = options
        self._specs = SpecCache(notifications)
        self.owner = owner or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        """New work was accepted in this process: stop waiting for the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes. Returns how many were handled."""
        now = self._clock.now()
        claimed = await self._queue.claim(
            self.owner, limit=self._options.batch_size, now=now, lease_seconds=self._options.lease_seconds
        )
        if not claimed:
            return 0
        specs = await self._specs.load({item.notification_id for item in claimed})
        updates = await asyncio.gather(
            *(self._handle(item, specs.get(item.notification_id)) for item in claimed)
        )
        recorded_at = self._clock.now()
        await self._queue.record(self.owner, updates, recorded_at)
        await self._tell_listeners(claimed, updates, recorded_at)
        return len(claimed)

    async def _tell_listeners(
        self, claimed: Sequence[ClaimedDelivery], updates: Sequence[DeliveryUpdate], at: float
    ) -> None:
        """Report durable results only: listeners run after the batch is committed."""
        if not self._listeners:
            return
        batch = [Recorded(item, update, at) for item, update in zip(claimed, updates, strict=True)]
        for listener in self._listeners:
            try:
                await listener.recorded(batch)
            except Exception:  # metrics or receipts must never stop deliveries
                log.exception("outcome listener %r failed", listener)

    async def _handle(self, item: ClaimedDelivery, planned: PlannedNotification | None) -> DeliveryUpdate:
        now = self._clock.now()
        if planned is None:
            return _update(item, device_gone("NotificationMissing"), item.attempts)
        spec, expires_at = planned.spec, planned.expires_at
        if expires_at is not None and expires_at <= now:
            return _update(item, expired_before_send(), item.attempts)
        if not item.device_active or item.token is None:
            return _update(item, device_gone("DeviceInactive"), item.attempts)
        if spec.send_local_time and item.attempts == 0:
            local_due = next_local_occurrence(spec.send_local_time, item.timezone, planned.created_at)
            if local_due > now:
                return _update(item, wait_until(local_due), item.attempts)
        provider = await self._providers.get(item.app_id, item.channel)
        attempt = item.attempts + 1
        if provider is None:
            outcome = local_rejection("ProviderNotConfigured", OutcomeKind.CONFIGURATION)
        else:
            outcome = await self._send(provider, item, spec, expires_at, attempt)
        progress = after_attempt(
            outcome,
            attempts_made=attempt,
            now=self._clock.now(),
            expires_at=expires_at,
            policy=self._options.retry,
            rng=self._rng,
        )
        return _update(item, progress, attempt, outcome)

    async def _send(
        self,
        provider: Any,
        item: ClaimedDelivery,
        spec: NotificationSpec,
        expires_at: float | None,
        attempt: int,
    ) -> Outcome:
        dispatch = Dispatch(
            delivery_id=item.id,
            app_id=item.app_id,
            notification_id=item.notification_id,
            channel=item.channel,
            token=item.token or "",
            spec=spec,
            expires_at=expires_at,
            attempt=attempt,
            subscription=item.subscription,
            user_id=item.user_id,
        )
        try:
            result: Outcome = await provider.send(dispatch)
        except Exception:  # a provider bug must not lose the batch: retry it later
            log.exception("provider %s raised for delivery %s", item.channel, item.id)
            return Outcome(OutcomeKind.RETRY, "ProviderError")
        return result

    async def run(self) -> None:
        """Run batch loops until `stop()`; idle loops wait for a wake-up or the poll interval."""
        self._stopping.clear()
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(self._options.concurrency)]
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # database trouble: back off and try again, never die
                log.exception("delivery batch failed; retrying")
                handled = 0
                await asyncio.sleep(1.0)
            if handled == 0 and not self._stopping.is_set():
                self._wake.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._options.poll_seconds)

    async def stop(self) -> None:
        """Finish the batches in flight (their outcomes get recorded), then return."""
        self._stopping.set()
        self._wake.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []


def _update(
    item: ClaimedDelivery, progress: Progress, attempts: int, outcome: Outcome | None = None
) -> DeliveryUpdate:
    return DeliveryUpdate(
        delivery_id=item.id,
        state=progress.state,
        attempts=attempts,
        due_at=progress.due_at,
        reason=progress.reason,
        provider_status=outcome.provider_status if outcome else None,
        provider_message_id=outcome.provider_message_id if outcome else None,
        sent=outcome is not None,
        attempt_outcome=outcome.kind.value if outcome else None,
        device_to_deactivate=item.device_id if progress.deactivate_device else None,
    )
