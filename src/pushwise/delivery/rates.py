"""Send-rate limits per app and per (app, channel), on the injected clock.

A delivery over its limit is put back until the window has room: not an attempt,
not a failure. Transactional deliveries are not held by the per-app limit (it is
there to pace marketing traffic); the per-channel limit, which protects a
provider's quota, holds everyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pushwise.domain.clock import Clock
from pushwise.domain.rate_limit import SlidingWindowLimit


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Sends per second; None means unlimited. `per_channel` is keyed by channel name."""

    per_app: float | None = None
    per_channel: dict[str, float] = field(default_factory=dict)
    window_seconds: float = 10.0


class SendRates:
    def __init__(self, clock: Clock, limits: RateLimits | None = None) -> None:
        self._clock = clock
        self.limits = limits or RateLimits()
        self._windows: dict[tuple[str, str], SlidingWindowLimit] = {}

    def admit(self, app_id: str, channel: str, *, transactional: bool) -> float | None:
        """None when the send may go now, else the time until which it should wait."""
        checks: list[tuple[tuple[str, str], float]] = []
        rate = self.limits.per_channel.get(channel)
        if rate is not None:
            checks.append(((app_id, channel), rate))
        if self.limits.per_app is not None and not transactional:
            checks.append(((app_id, ""), self.limits.per_app))
        for key, per_second in checks:
            wait = self._window(key, per_second).try_acquire()
            if wait:
                # A slot already taken in an earlier window stays taken: the limits may
                # under-send a little when both are tight, never over-send.
                return self._clock.now() + wait
        return None

    def _window(self, key: tuple[str, str], per_second: float) -> SlidingWindowLimit:
        window = self._windows.get(key)
        if window is None:
            limit = max(1, round(per_second * self.limits.window_seconds))
            window = self._windows[key] = SlidingWindowLimit(limit, self.limits.window_seconds, self._clock)
        return window
