"""When to try again, and when to stop.

Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
and Jitter"): the wait is uniform in [0, min(cap, base * 2**attempt)], which
spreads a thundering herd after an outage. A provider's `Retry-After` is a floor:
we never come back sooner than asked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 1.0
    cap_seconds: float = 600.0
    max_attempts: int = 8


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """Either `retry_at` is set, or `give_up_reason` says why we stop."""

    retry_at: float | None
    give_up_reason: str | None

    @property
    def gives_up(self) -> bool:
        return self.retry_at is None


def backoff_delay(attempts_made: int, policy: RetryPolicy, rng: random.Random) -> float:
    ceiling = min(policy.cap_seconds, policy.base_seconds * (2 ** max(0, attempts_made - 1)))
    return rng.uniform(0.0, ceiling)


def decide_retry(
    *,
    attempts_made: int,
    now: float,
    expires_at: float | None,
    retry_after: float | None,
    policy: RetryPolicy,
    rng: random.Random,
) -> RetryDecision:
    """Decide the next try after a retryable failure.

    Gives up when the attempt budget is spent, or when the next try would land
    after the notification expired: sending late is worse than not sending.
    """
    if attempts_made >= policy.max_attempts:
        return RetryDecision(None, "max_attempts")
    delay = backoff_delay(attempts_made, policy, rng)
    if retry_after is not None:
        delay = max(delay, retry_after)
    retry_at = now + delay
    if expires_at is not None and retry_at >= expires_at:
        return RetryDecision(None, "expired")
    return RetryDecision(retry_at, None)
