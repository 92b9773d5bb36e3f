"""A sliding-window rate limit on the injected clock: at most `limit` events in any `window` seconds.

Providers publish quotas as "N per window" (FCM: 600,000 messages per minute per
project), and exceeding them earns throttling for everyone sharing the quota. A
token bucket of capacity N refilled at N per window admits up to 2N in some
window, so this counts instead: the window is cut into `slots` slots, and an
event is admitted only if the slots covering the last window *plus the slot it
started in* hold fewer than `limit`. Counting that extra partial slot makes the
bound hold for every window, at the cost of about 1/`slots` of the quota under
steady full load. Memory is `slots + 1` counters whatever the limit.
"""

from __future__ import annotations

import math

from pushwise.domain.clock import Clock

# Waits are rounded up to this, so a caller who waits exactly as told is admitted
# even after floating-point rounding of `now + wait`.
_WAIT_RESOLUTION = 1e-3


class SlidingWindowLimit:
    def __init__(self, limit: int, window: float, clock: Clock, *, slots: int = 60) -> None:
        if limit < 1 or window <= 0 or slots < 1:
            raise ValueError("a rate limit needs limit >= 1, window > 0 and slots >= 1")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._slot_width = window / slots
        self._span = slots + 1  # slots counted: the last `slots` whole ones and the current one
        self._counts = [0] * self._span
        self._newest = self._slot_of(clock.now())
        self._total = 0

    def try_acquire(self, n: int = 1) -> float:
        """Take `n` events now if the quota allows: 0.0 when taken, else seconds until it would be.

        A refusal takes nothing, so a caller can come back after the returned wait.
        """
        if not 1 <= n <= self.limit:
            raise ValueError(f"can take 1..{self.limit} events at once")
        now = self._clock.now()
        self._roll_to(self._slot_of(now))
        if self._total + n <= self.limit:
            self._counts[self._newest % self._span] += n
            self._total += n
            return 0.0
        return self._wait_for(n, now)

    def in_window(self) -> int:
        """Events currently counted against the quota."""
        self._roll_to(self._slot_of(self._clock.now()))
        return self._total

    def _slot_of(self, now: float) -> int:
        return math.floor(now / self._slot_width)

    def _roll_to(self, slot: int) -> None:
        """Forget slots that fell out of the counted span; a clock that stepped back changes nothing."""
        if slot <= self._newest:
            return
        for stale in range(max(self._newest + 1, slot - self._span + 1), slot + 1):
            index = stale % self._span
            self._total -= self._counts[index]
            self._counts[index] = 0
        self._newest = slot

    def _wait_for(self, n: int, now: float) -> float:
        """Time until the oldest slots drop out far enough to make room for `n`."""
        freed = 0
        oldest = self._newest - self._span + 1
        for slot in range(oldest, self._newest + 1):
            freed += self._counts[slot % self._span]
            if self._total - freed + n <= self.limit:
                # `slot` stops being counted once the newest slot is `slot + span`.
                wait = (slot + self._span) * self._slot_width - now
                return math.ceil(max(wait, 0.0) / _WAIT_RESOLUTION) * _WAIT_RESOLUTION
        raise AssertionError("n <= limit, so emptying every slot always makes room")
