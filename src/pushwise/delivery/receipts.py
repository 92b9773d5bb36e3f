"""Delivery receipts for senders: what happened to each delivery, posted in signed batches.

The recorder words the receipts an app subscribed to; they are committed with
what they report (`DeliveryQueue.record` for outcomes, `FallbackRepository.advance`
for fallback steps), so a crash after a commit loses none. The sender posts them
in batches signed with `Pushwise-Signature` (see `pushwise.domain.signatures`),
deletes what the receiver took and retries the rest with exponential backoff and
full jitter.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from pushwise.delivery.worker import Recorded
from pushwise.domain.backoff import RetryPolicy, backoff_delay
from pushwise.domain.clock import Clock
from pushwise.domain.outcomes import OutcomeKind
from pushwise.domain.signatures import SIGNATURE_HEADER, sign
from pushwise.domain.states import DeliveryState
from pushwise.store.fallback import FallbackReceipts, FallbackTaken
from pushwise.store.receipts import OutcomeReceipt, PendingReceipt, ReceiptEndpoints, ReceiptOutbox

log = logging.getLogger(__name__)

RECEIPT_EVENTS = ("delivered", "failed", "token_dead", "fallback", "suppressed")

# How long a worker trusts what it read of an app's subscriptions: a receiver set up
# (or changed) now sees the outcomes recorded from a few seconds later.
SUBSCRIPTIONS_TTL_SECONDS = 5.0


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def receipt_type(item: Recorded) -> str | None:
    state = item.update.state
    if state is DeliveryState.DELIVERED:
        return "delivered"
    if state is DeliveryState.SUPPRESSED:
        return "suppressed"
    if state in (DeliveryState.FAILED, DeliveryState.EXPIRED):
        return "token_dead" if item.update.attempt_outcome == OutcomeKind.TOKEN_DEAD.value else "failed"
    return None  # still pending: no receipt yet


def outcome_event(item: Recorded, kind: str) -> dict[str, Any]:
    claimed = item.claimed
    reason = item.update.reason or ("Expired" if item.update.state is DeliveryState.EXPIRED else None)
    return {
        "type": kind,
        "notification_id": claimed.notification_id,
        "delivery_id": str(claimed.id),
        "device_id": claimed.device_id,
        "user_id": claimed.user_id,
        "channel": claimed.channel,
        "reason": reason,
        "at": _iso(item.at),
    }


def fallback_events(taken: FallbackTaken, at: float) -> list[dict[str, Any]]:
    """One `fallback` receipt per delivery the step replaced."""
    return [
        {
            "type": "fallback",
            "notification_id": taken.notification_id,
            "delivery_id": str(delivery_id),
            "device_id": None,
            "user_id": taken.user_id,
            "channel": taken.channel,
            "reason": f"fallback step {taken.step}",
            "at": _iso(at),
        }
        for delivery_id in taken.replaced
    ]


class ReceiptRecorder:
    """Words the receipts each app subscribed to, for the transaction that commits what they report.

    It runs before every batch is recorded, so an app's subscriptions are read at
    most once per `ttl_seconds` per process, not once per batch.
    """

    def __init__(
        self, outbox: ReceiptOutbox, clock: Clock, *, ttl_seconds: float = SUBSCRIPTIONS_TTL_SECONDS
    ) -> None:
        self._outbox = outbox
        self._clock = clock
        self._ttl = ttl_seconds
        self._subscriptions: dict[str, tuple[float, frozenset[str]]] = {}

    async def rows_for(self, batch: Sequence[Recorded]) -> list[OutcomeReceipt]:
        """The outcome receipts owed for `batch`, to be written with it (`DeliveryQueue.record`)."""
        wanted = {app_id: await self.subscriptions(app_id) for app_id in {r.claimed.app_id for r in batch}}
        if not any(wanted.values()):
            return []
        rows = []
        for item in batch:
            kind = receipt_type(item)
            if kind is not None and kind in wanted[item.claimed.app_id]:
                rows.append(
                    OutcomeReceipt(
                        item.claimed.app_id,
                        item.claimed.id,
                        item.update.state.value,
                        outcome_event(item, kind),
                    )
                )
        return rows

    async def fallback_receipts(self, app_id: str) -> FallbackReceipts | None:
        """How to word the app's receipts for a fallback step (None: it wants none)."""
        return fallback_events if "fallback" in await self.subscriptions(app_id) else None

    async def subscriptions(self, app_id: str) -> frozenset[str]:
        """The event types `app_id` wants receipts for, as read at most `ttl_seconds` ago."""
        now = self._clock.now()
        cached = self._subscriptions.get(app_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        events = await self._outbox.subscriptions(app_id)
        self._subscriptions[app_id] = (now + self._ttl, events)
        return events


@dataclass(frozen=True, slots=True)
class SenderOptions:
    batch_size: int = 100
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(1.0, 3600.0, 20))


class ReceiptSender:
    def __init__(
        self,
        outbox: ReceiptOutbox,
        endpoints: ReceiptEndpoints,
        clock: Clock,
        rng: random.Random,
        client: httpx.AsyncClient,
        options: SenderOptions | None = None,
    ) -> None:
        self._outbox = outbox
        self._endpoints = endpoints
        self._clock = clock
        self._rng = rng
        self._client = client
        self.options = options or SenderOptions()

    async def run_once(self) -> int:
        """Post one claim of due receipts, grouped per app; returns how many were claimed."""
        claimed = await self._outbox.claim(
            now=self._clock.now(), lease_seconds=self.options.lease_seconds, limit=self.options.batch_size
        )
        by_app: dict[str, list[PendingReceipt]] = defaultdict(list)
        for receipt in claimed:
            by_app[receipt.app_id].append(receipt)
        for app_id, receipts in by_app.items():
            await self._post(app_id, receipts)
        return len(claimed)

    async def _post(self, app_id: str, receipts: list[PendingReceipt]) -> None:
        endpoint = await self._endpoints.endpoint(app_id)
        if endpoint is None:  # the app stopped wanting receipts
            await self._outbox.sent([r.id for r in receipts])
            return
        body = orjson.dumps({"events": [r.event for r in receipts]})
        t = int(self._clock.now())
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(endpoint.secret, body, t)}
        try:
            response = await self._client.post(
                endpoint.url, content=body, headers=headers, timeout=self.options.timeout
            )
            accepted = 200 <= response.status_code < 300
        except httpx.HTTPError as error:
            log.info("receipts for app %s not posted: %s", app_id, error)
            accepted = False
        if accepted:
            await self._outbox.sent([r.id for r in receipts])
        else:
            await self._later(receipts)

    async def _later(self, receipts: list[PendingReceipt]) -> None:
        now, policy = self._clock.now(), self.options.retry
        retries, dropped = [], []
        for receipt in receipts:
            made = receipt.attempts + 1
            if made >= policy.max_attempts:
                dropped.append(receipt.id)
            else:
                retries.append((receipt.id, made, now + backoff_delay(made, policy, self._rng)))
        if dropped:
            log.warning("dropping %d receipts after %d attempts", len(dropped), policy.max_attempts)
            await self._outbox.sent(dropped)
        await self._outbox.retry_later(retries)

    async def close(self) -> None:
        await self._client.aclose()


class ReceiptService:
    """Runs the sender in the background of a long-running process."""

    def __init__(self, sender: ReceiptSender) -> None:
        self.sender = sender
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="receipt-sender")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = await self.sender.run_once()
            except Exception:  # the database or the receiver is away: try again later
                log.exception("receipt batch failed")
                handled = 0
            if handled == 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.sender.options.poll_seconds)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
