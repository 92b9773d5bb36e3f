"""Time and randomness as injected dependencies.

Every component reads time through a `Clock` and draws randomness from a seeded
`random.Random`, so tests and simulations can run days of traffic in seconds
without sleeping and reproduce every jittered backoff exactly.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time in Unix epoch seconds (UTC)."""

    def now(self) -> float: ...


class SystemClock:
    """The real clock; the production default."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to, for deterministic tests and simulations."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        return self._now

    def set(self, epoch_seconds: float) -> None:
        self._now = epoch_seconds
