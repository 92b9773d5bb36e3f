"""When a worker writes the outcomes it has collected: by count and by age.

A worker that holds outcomes in memory re-sends them all if it dies (SIGKILL, power
loss) before writing them, so they should wait as little as possible; each write is a
transaction, so they should not be written one by one either. The policy bounds both:
at most `count` outcomes wait, and none waits longer than `seconds`. Pure, so the
bounds can be property-tested; the worker feeds it the size and age of what waits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FlushPolicy:
    count: int = 50  # write once this many outcomes wait
    seconds: float = 0.05  # or once the oldest has waited this long

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("a flush needs a count of at least 1")
        if self.seconds < 0:
            raise ValueError("a flush interval cannot be negative")


def flush_due(policy: FlushPolicy, waiting: int, oldest_at: float, now: float) -> bool:
    """Whether `waiting` outcomes, the oldest collected at `oldest_at`, should be written at `now`."""
    if waiting <= 0:
        return False
    return waiting >= policy.count or now - oldest_at >= policy.seconds


def flush_deadline(policy: FlushPolicy, oldest_at: float) -> float:
    """The latest moment outcomes collected since `oldest_at` may wait unwritten."""
    return oldest_at + policy.seconds
