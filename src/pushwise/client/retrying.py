"""When a call is sent again: 429 and 5xx answers and lost connections, with the engine's backoff.

The wait is the engine's own (`pushwise.domain.backoff`): exponential with full jitter, never
sooner than the server's `Retry-After`. A call is only repeated when repeating it cannot do a
thing twice: the server did not act on it (429, 503, a connection never made), or the call is
idempotent (reads, PUT and DELETE, upserts, sends carrying an `Idempotency-Key`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pushwise.domain.backoff import RetryPolicy, decide_retry
from pushwise.domain.clock import Clock
from pushwise.providers.retry_after import parse_retry_after

NOT_ACTED_ON = frozenset({429, 503})  # refused before any work: safe to repeat any call


@dataclass(frozen=True, slots=True)
class Retries:
    """How hard one call tries. `attempts` counts every try, the first included; a call never waits
    beyond `longest_wait_seconds` in all (a `Retry-After` further off gives up at once)."""

    attempts: int = 4
    base_seconds: float = 0.5
    cap_seconds: float = 10.0
    longest_wait_seconds: float = 60.0


class RetryPlan:
    """The retries of one call; each `wait_after_*` returns seconds to wait, or None to give up."""

    def __init__(self, retries: Retries, *, retry_safe: bool, clock: Clock, rng: random.Random) -> None:
        self._policy = RetryPolicy(retries.base_seconds, retries.cap_seconds, retries.attempts)
        self._retry_safe = retry_safe
        self._clock = clock
        self._rng = rng
        self._deadline = clock.now() + retries.longest_wait_seconds
        self._made = 0

    def wait_after_answer(self, status: int, retry_after: str | None) -> float | None:
        self._made += 1
        if status != 429 and status < 500:
            return None
        if not (self._retry_safe or status in NOT_ACTED_ON):
            return None
        return self._next(parse_retry_after(retry_after, self._clock.now()))

    def wait_after_lost_connection(self, *, reached_server: bool) -> float | None:
        """A connection that was never made is safe to retry for any call; one lost mid-call only
        for calls that are safe to repeat (the server may have acted)."""
        self._made += 1
        if reached_server and not self._retry_safe:
            return None
        return self._next(None)

    def _next(self, retry_after: float | None) -> float | None:
        now = self._clock.now()
        decision = decide_retry(
            attempts_made=self._made,
            now=now,
            expires_at=self._deadline,
            retry_after=retry_after,
            policy=self._policy,
            rng=self._rng,
        )
        return None if decision.retry_at is None else decision.retry_at - now
