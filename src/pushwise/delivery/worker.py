"""The dispatcher: claim a batch, send it, record the outcomes as they arrive.

Several batch loops run concurrently in one worker so the provider connections
stay busy while outcomes are written. Any worker may die at any moment; its
claimed deliveries come back when their lease runs out (at-least-once). Outcomes
are written a group at a time while the batch is still sending (`rolling.py`, by
count and age), so a dead worker's duplicates are bounded by what it had in flight
or not yet written, not by whole batches.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from pushwise.delivery.attempt import attempt
from pushwise.delivery.circuits import CircuitBoard
from pushwise.delivery.providers import ProviderRegistry
from pushwise.delivery.rates import SendRates
from pushwise.delivery.render import Renderer, Unrenderable
from pushwise.delivery.rolling import RollingRecord
from pushwise.domain.backoff import RetryPolicy
from pushwise.domain.clock import Clock
from pushwise.domain.fallback import USER_CHANNELS
from pushwise.domain.flush import FlushPolicy
from pushwise.domain.local_time import next_local_occurrence
from pushwise.domain.notification import NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind, local_rejection
from pushwise.domain.progress import (
    Progress,
    after_attempt,
    device_gone,
    expired_before_send,
    held_until,
    quota_spent,
    wait_until,
)
from pushwise.domain.values import frozen_value
from pushwise.monitoring.logs import logged_delivery
from pushwise.providers.base import Dispatch
from pushwise.store.events import DeliveryEvent, EventLog
from pushwise.store.notifications import NotificationRepository
from pushwise.store.queue import ClaimedDelivery, DeliveryQueue, DeliveryUpdate
from pushwise.store.receipts import OutcomeReceipt

log = logging.getLogger(__name__)

_HELD_WHILE_OPEN = frozenset({OutcomeKind.RETRY, OutcomeKind.CONFIGURATION})


class Doorbell:
    """Wakes idle batch loops one at a time; a ring with nobody waiting is simply not needed."""

    def __init__(self) -> None:
        self._waiting: deque[asyncio.Future[None]] = deque()

    def ring(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def ring_all(self) -> None:
        while self._waiting:
            self.ring()

    async def wait(self, timeout: float) -> bool:
        """Wait for a ring or the timeout; True when rung."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return False
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
        return True


@frozen_value
class Recorded:
    """One delivery's claimed state and what was just recorded for it."""

    claimed: ClaimedDelivery
    update: DeliveryUpdate
    at: float


class OutcomeListener(Protocol):
    """Sees every committed group of outcomes (metrics, fallback, notices), each once. Must be quick.

    A process can die between the commit and its listeners: what must not be lost
    is written with the outcomes (`OutcomeReceipts`) or caught up by the follow-up sweep.
    """

    async def recorded(self, batch: Sequence[Recorded]) -> None: ...


class Screening(Protocol):
    """What the gate decided for a batch: the deliveries not to send now, and replaced content."""

    @property
    def held(self) -> Mapping[int, Handled]: ...

    @property
    def content(self) -> Mapping[int, PlannedNotification]: ...


class PreSendGate(Protocol):
    """Decides, for a whole claimed batch, which deliveries not to send now (`pushwise.delivery.gate`)."""

    async def screen(
        self, claimed: Sequence[ClaimedDelivery], planned: Mapping[str, PlannedNotification], now: float
    ) -> Screening: ...


class OutcomeReceipts(Protocol):
    """Words the delivery receipts a batch owes, written in the transaction that records it."""

    async def rows_for(self, batch: Sequence[Recorded]) -> list[OutcomeReceipt]: ...


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    batch_size: int = 500
    concurrency: int = 4
    lease_seconds: float = 60.0
    poll_seconds: float = 0.2
    linger_seconds: float = 0.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    flush: FlushPolicy = field(default_factory=FlushPolicy)
    # Sends not yet recorded (awaiting their answer, or their write), across the batch loops:
    # exactly what a SIGKILL makes go out again. Without a bound a whole claim
    # (concurrency x batch_size) is on the wire at once, all of it re-sent after a crash.
    max_in_flight: int = 400


@frozen_value
class Handled:
    update: DeliveryUpdate
    events: tuple[DeliveryEvent, ...] = ()
    # Why this route cannot deliver now (token_dead, quota_spent, circuit_open, device_inactive):
    # a delivery to an installation then moves on to its next route (`delivery/routing.py`).
    route_cause: str | None = None
    # It was sent: it holds one of the worker's in-flight slots until its outcome is written.
    holds_slot: bool = False


class Rerouting(Protocol):
    async def reroute(self, claimed: Sequence[ClaimedDelivery], handled: list[Handled]) -> list[Handled]: ...


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
                spec = NotificationSpec.from_dict(row.spec).stamped(nid)
                self._entries[nid] = PlannedNotification(spec, row.created_at, row.expires_at)
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
        receipts: OutcomeReceipts | None = None,
        circuits: CircuitBoard,
        events: EventLog,
        rates: SendRates,
        gate: PreSendGate,
        renderer: Renderer | None = None,
        routing: Rerouting | None = None,
    ) -> None:
        self._pre_send_gate = gate
        self._routing = routing
        self._listeners = tuple(listeners)
        self._receipts = receipts
        self._circuits = circuits
        self._rates = rates
        self._events = events
        self._renderer = renderer
        self._queue = queue
        self._providers = providers
        self._clock = clock
        self._rng = rng
        self._options = options
        self._specs = SpecCache(notifications)
        self.owner = owner or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._doorbell = Doorbell()
        self._in_flight = asyncio.Semaphore(options.max_in_flight)
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        """New work was accepted: one idle batch loop claims it now instead of at the next poll.

        One, not all: waking every loop for a single delivery makes all but one claim nothing.
        A loop that claims a full batch rings again, so a big send still gets every loop.
        """
        self._doorbell.ring()

    async def run_once(self) -> int:
        """Claim one batch, send it, record the outcomes. Returns how many were handled."""
        now = self._clock.now()
        claimed = await self._queue.claim(
            self.owner, limit=self._options.batch_size, now=now, lease_seconds=self._options.lease_seconds
        )
        if not claimed:
            return 0
        if self._stopping.is_set():  # shutting down: another worker sends these now, not after the lease
            await self._queue.release(self.owner, [item.id for item in claimed], now)
            return 0
        heartbeat = asyncio.create_task(self._heartbeat([item.id for item in claimed]))
        recording: RollingRecord[tuple[ClaimedDelivery, Handled]] = RollingRecord(
            self._write, self._options.flush
        )
        try:
            try:
                specs = await self._specs.load({item.notification_id for item in claimed})
                screened = await self._pre_send_gate.screen(claimed, specs, now)
                held, worded = screened.held, screened.content  # worded: a digest's carrier
                personal = await self._personalise(
                    [item for item in claimed if item.id not in held and item.id not in worded], specs
                )
                personal.update(worded)
                await asyncio.gather(
                    *(
                        self._handle_into(
                            recording,
                            item,
                            personal.get(item.id) or specs.get(item.notification_id),
                            held.get(item.id),
                        )
                        for item in claimed
                    )
                )
            finally:
                # What was handled is written whatever stopped the batch: only the rest is sent again.
                await asyncio.shield(recording.close())
        except asyncio.CancelledError:  # drain deadline passed: give the unrecorded rest back at once
            await asyncio.shield(self._queue.release(self.owner, [i.id for i in claimed], self._clock.now()))
            raise
        finally:
            heartbeat.cancel()
        return len(claimed)

    async def _handle_into(
        self,
        recording: RollingRecord[tuple[ClaimedDelivery, Handled]],
        item: ClaimedDelivery,
        planned: PlannedNotification | Unrenderable | None,
        held: Handled | None,
    ) -> None:
        recording.add((item, await self._handle(item, planned, held)))

    async def _write(self, entries: list[tuple[ClaimedDelivery, Handled]]) -> None:
        """Record a group of outcomes in one transaction, then free their in-flight slots."""
        try:
            await self._record(entries)
        finally:  # written, or failed and left to their lease: either way no longer ours to wait on
            for _, result in entries:
                if result.holds_slot:
                    self._in_flight.release()

    async def _record(self, entries: list[tuple[ClaimedDelivery, Handled]]) -> None:
        """Record a group of outcomes in one transaction, then tell the listeners."""
        claimed = [item for item, _ in entries]
        handled = [result for _, result in entries]
        if self._routing is not None:
            handled = await self._routing.reroute(claimed, handled)
        recorded_at = self._clock.now()
        batch = [Recorded(item, h.update, recorded_at) for item, h in zip(claimed, handled, strict=True)]
        # Receipts are committed with the outcomes, or neither is: an unrecorded outcome is sent again.
        receipts = await self._receipts.rows_for(batch) if self._receipts is not None else []
        await self._queue.record(self.owner, [h.update for h in handled], recorded_at, receipts=receipts)
        events = [event for h in handled for event in h.events]
        if events:  # the trail is informative: written after the outcomes, never instead of them
            await self._events.append(events)
        await self._tell_listeners(batch)

    async def _personalise(
        self, claimed: Sequence[ClaimedDelivery], specs: dict[str, PlannedNotification]
    ) -> dict[int, PlannedNotification | Unrenderable]:
        """Templated notifications, rendered for each delivery's user (`render.py`)."""
        if self._renderer is None:
            return {}
        rendered = await self._renderer.personalise(claimed, {nid: p.spec for nid, p in specs.items()})
        if not rendered:
            return {}
        notification_of = {item.id: item.notification_id for item in claimed}
        return {
            delivery_id: replace(specs[notification_of[delivery_id]], spec=spec)
            if isinstance(spec, NotificationSpec)
            else spec
            for delivery_id, spec in rendered.items()
        }

    async def _heartbeat(self, delivery_ids: list[int]) -> None:
        """Keep the lease of a batch still in flight, so only a dead worker's claims are taken over."""
        lease = self._options.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                await self._queue.extend(self.owner, delivery_ids, self._clock.now() + lease)
            except Exception:  # the database is away: the lease may lapse, the record guard still holds
                log.warning("lease heartbeat failed for %d deliveries", len(delivery_ids), exc_info=True)

    async def _tell_listeners(self, batch: Sequence[Recorded]) -> None:
        """Report durable results only: listeners run after the outcomes are committed."""
        for listener in self._listeners:
            try:
                await listener.recorded(batch)
            except Exception:  # metrics or fallback must never stop deliveries
                log.exception("outcome listener %r failed", listener)

    async def _handle(
        self,
        item: ClaimedDelivery,
        planned: PlannedNotification | Unrenderable | None,
        held: Handled | None,
    ) -> Handled:
        if held is not None:  # the gate decided: not now, or never
            return held
        # Every line logged about this delivery carries its app, notification and delivery ids,
        # read from this one reference only when a line is written (`monitoring/logs.py`).
        bound = logged_delivery.set(item)
        try:
            return await self._handle_bound(item, planned)
        finally:
            logged_delivery.reset(bound)

    async def _handle_bound(
        self, item: ClaimedDelivery, planned: PlannedNotification | Unrenderable | None
    ) -> Handled:
        now = self._clock.now()
        if planned is None:
            return Handled(_update(item, device_gone("NotificationMissing"), item.attempts))
        if isinstance(planned, Unrenderable):
            return Handled(_update(item, device_gone(planned.reason), item.attempts))
        spec = planned.spec
        # An inbox item, e-mail or webhook has no push TTL: it is how an expired push falls back.
        expires_at = None if item.channel in USER_CHANNELS else planned.expires_at
        if expires_at is not None and expires_at <= now:
            return Handled(_update(item, expired_before_send(), item.attempts))
        if item.channel not in USER_CHANNELS and (not item.device_active or item.token is None):
            return Handled(
                _update(item, device_gone("DeviceInactive"), item.attempts), route_cause="device_inactive"
            )
        if spec.send_local_time and item.attempts == 0:
            local_due = next_local_occurrence(spec.send_local_time, item.timezone, planned.created_at)
            if local_due > now:
                return Handled(_update(item, wait_until(local_due), item.attempts))
        held = self._gate(item, spec)
        if held is not None:
            cause = "circuit_open" if held.reason == "CircuitOpen" else None
            return Handled(_update(item, held, item.attempts), route_cause=cause)
        key = (item.app_id, item.channel)
        provider = await self._providers.get(item.app_id, item.channel)
        attempt_number = item.attempts + 1
        if provider is None:
            # Nothing to open a circuit on: fail now so a fallback channel can take over.
            outcome = local_rejection("ProviderNotConfigured", OutcomeKind.CONFIGURATION)
            return Handled(
                _update(item, self._progress(outcome, attempt_number, expires_at), attempt_number, outcome)
            )
        await self._in_flight.acquire()  # released by `_write` once the outcome is recorded
        try:
            result = await attempt(
                provider, self._dispatch(item, spec, expires_at, attempt_number), self._circuits
            )
        except BaseException:  # cancelled mid-send: no outcome will be written for it
            self._in_flight.release()
            raise
        outcome = result.outcome
        if outcome.kind is OutcomeKind.QUOTA_SPENT:
            # Not an attempt: the vendor refused before trying; its quota is new tomorrow.
            waiting = quota_spent(item.channel, item.attempts, now, expires_at)
            update = replace(_update(item, waiting, item.attempts), quota_spent=True)
            return Handled(update, route_cause="quota_spent", holds_slot=True)
        reopens_at = self._circuits.reopens_at(key)
        cause = "token_dead" if outcome.kind is OutcomeKind.TOKEN_DEAD else None
        if reopens_at is not None and outcome.kind in _HELD_WHILE_OPEN:
            # The endpoint is down or misconfigured, not this delivery: it waits for the
            # circuit instead of spending its attempts (and dying) during the outage.
            progress = held_until(reopens_at, attempt_number, outcome.reason)
            cause = "circuit_open"
        else:
            progress = self._progress(outcome, attempt_number, expires_at)
        events: tuple[DeliveryEvent, ...] = ()
        if result.content is not None:
            detail = {"content": result.content, "attempt": attempt_number}
            events = (
                DeliveryEvent(item.notification_id, item.app_id, item.id, "content_fallback", now, detail),
            )
        return Handled(_update(item, progress, attempt_number, outcome), events, cause, holds_slot=True)

    def _gate(self, item: ClaimedDelivery, spec: NotificationSpec) -> Progress | None:
        """Hold the delivery, not attempted, while its circuit is open or its send rate is used up."""
        circuit_wait = self._circuits.admit((item.app_id, item.channel))
        if circuit_wait is not None:
            return held_until(circuit_wait, item.attempts)
        transactional = spec.priority == "transactional"
        paced_until = self._rates.admit(item.app_id, item.channel, transactional=transactional)
        if paced_until is not None:
            return held_until(paced_until, item.attempts, "RateLimited")
        return None

    def _progress(self, outcome: Outcome, attempt_number: int, expires_at: float | None) -> Progress:
        return after_attempt(
            outcome,
            attempts_made=attempt_number,
            now=self._clock.now(),
            expires_at=expires_at,
            policy=self._options.retry,
            rng=self._rng,
        )

    @staticmethod
    def _dispatch(
        item: ClaimedDelivery, spec: NotificationSpec, expires_at: float | None, attempt_number: int
    ) -> Dispatch:
        return Dispatch(
            delivery_id=item.id,
            app_id=item.app_id,
            notification_id=item.notification_id,
            channel=item.channel,
            token=item.token or "",
            spec=spec,
            expires_at=expires_at,
            attempt=attempt_number,
            subscription=item.subscription,
            user_id=item.user_id,
        )

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
            if handled >= self._options.batch_size:
                self._doorbell.ring()  # likely more where that came from
            elif (
                handled == 0
                and not self._stopping.is_set()
                and await self._doorbell.wait(self._options.poll_seconds)
                and self._options.linger_seconds
            ):
                # Let a burst of single notifications gather into one claim: one write
                # transaction for many, instead of competing with the API for each.
                await asyncio.sleep(self._options.linger_seconds)

    async def stop(self, drain_seconds: float | None = None) -> None:
        """Finish the batches in flight (their outcomes get recorded), then return.

        After `drain_seconds` the batches still sending are cancelled and their
        deliveries released, so a stuck provider cannot hold a shutdown hostage.
        """
        self._stopping.set()
        self._doorbell.ring_all()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=drain_seconds)
            for task in pending:
                task.cancel()
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
