"""From an outcome to a delivery's next state: the rules behind retries and pruning.

Pure, so the same rules can be checked by property tests and replayed on a
simulated clock.
"""

from __future__ import annotations

import random

from pushwise.domain.backoff import RetryPolicy, decide_retry
from pushwise.domain.china.vendors import next_vendor_day
from pushwise.domain.outcomes import Outcome, OutcomeKind
from pushwise.domain.states import DeliveryState
from pushwise.domain.values import frozen_value


@frozen_value
class Progress:
    """What to write for one delivery after one attempt (or a decision not to attempt)."""

    state: DeliveryState
    due_at: float | None
    reason: str | None
    deactivate_device: bool = False


def after_attempt(
    outcome: Outcome,
    *,
    attempts_made: int,
    now: float,
    expires_at: float | None,
    policy: RetryPolicy,
    rng: random.Random,
) -> Progress:
    kind = outcome.kind
    if kind is OutcomeKind.DELIVERED:
        return Progress(DeliveryState.DELIVERED, None, None)
    if kind is OutcomeKind.TOKEN_DEAD:
        return Progress(DeliveryState.FAILED, None, outcome.reason, deactivate_device=True)
    if kind in (OutcomeKind.RETRY, OutcomeKind.REFRESH_CREDENTIALS):
        decision = decide_retry(
            attempts_made=attempts_made,
            now=now,
            expires_at=expires_at,
            retry_after=outcome.retry_after,
            policy=policy,
            rng=rng,
        )
        if decision.retry_at is not None:
            return Progress(DeliveryState.RETRYING, decision.retry_at, outcome.reason)
        if decision.give_up_reason == "expired":
            return Progress(DeliveryState.EXPIRED, None, outcome.reason)
        return Progress(DeliveryState.FAILED, None, outcome.reason)
    # Configuration errors and permanent rejections: retrying cannot help.
    return Progress(DeliveryState.FAILED, None, outcome.reason)


def expired_before_send() -> Progress:
    return Progress(DeliveryState.EXPIRED, None, "Expired")


def device_gone(reason: str) -> Progress:
    """The device was pruned (or removed) after this delivery was planned: never send to it."""
    return Progress(DeliveryState.FAILED, None, reason)


def wait_until(due_at: float) -> Progress:
    """Not yet: put the delivery back, unattempted, until `due_at`."""
    return Progress(DeliveryState.QUEUED, due_at, None)


def held_until(due_at: float, attempts_made: int, reason: str = "CircuitOpen") -> Progress:
    """The provider's circuit is open (or a send rate is used up): wait, not fail, until `due_at`."""
    state = DeliveryState.RETRYING if attempts_made else DeliveryState.QUEUED
    return Progress(state, due_at, reason)


def quota_spent(vendor: str, attempts_made: int, now: float, expires_at: float | None) -> Progress:
    """A phone maker said its daily quota is spent: not an attempt; wait for its next day
    (00:00 Asia/Shanghai), or give up quietly if the delivery would expire first."""
    until = next_vendor_day(now)
    reason = f"vendor_quota:{vendor}"
    if expires_at is not None and until >= expires_at:
        return Progress(DeliveryState.SUPPRESSED, None, reason)
    return held_until(until, attempts_made, reason)
