"""Request budgets: a token bucket per caller (an API key, a client address), shared by a cluster.

A budget of R requests per second allows a burst of 2R (API.md): a bucket holding at most 2R
tokens, refilled at R per second, one token per request. Several API processes serve the same
callers, so the bucket they must respect is the cluster's, kept in the database. Asking the
database on every request would put a round trip on the hottest path, so each process decides
from a *mirror* of each bucket it serves, in memory, and a background sync (every fraction of a
second) charges what it spent to the shared bucket and takes back the shared level (`drain`,
then `settle` with the answer).

Between two syncs each process spends from its own mirror, so a cluster of P processes may
overshoot a bucket by what the P mirrors held at their last sync plus one interval's refill each.
The overshoot is not forgiven: it stands in the shared bucket as debt (a negative level) that every
process sees after its next sync and waits out, so over any stretch longer than the sync interval
the cluster serves R per second, not P times R. On one process the mirror is the bucket, exactly.

A refused caller is told how long to wait (`Retry-After`): the time until its mirror holds a whole
token again, which, unless the same caller spends meanwhile elsewhere, is when it is served.
"""

from __future__ import annotations

from dataclasses import dataclass

from pushwise.domain.clock import Clock


@dataclass(frozen=True, slots=True)
class BudgetRate:
    per_second: float
    burst: float

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a request budget needs a positive rate and room for one request")

    @classmethod
    def doubled(cls, per_second: float) -> BudgetRate:
        """API.md's rule: R per second with a burst of twice that."""
        return cls(per_second, max(1.0, 2 * per_second))


@dataclass(frozen=True, slots=True)
class Spend:
    """What a process spent from one bucket since its last sync (possibly nothing, if it only refused)."""

    name: str
    spent: int
    rate: BudgetRate


@dataclass(slots=True)
class _Mirror:
    level: float  # tokens as of `at`, as this process knows them
    at: float
    rate: BudgetRate
    unsynced: int = 0  # admitted here since the last drain
    touched: bool = False  # asked since the last drain


class RequestBudgets:
    """The mirrors of one process. Not thread-safe: used from the event loop only."""

    def __init__(self, clock: Clock, *, max_buckets: int = 100_000) -> None:
        self._clock = clock
        self._mirrors: dict[str, _Mirror] = {}
        self._max_buckets = max_buckets

    def take(self, name: str, rate: BudgetRate) -> float:
        """Spend one request from `name`'s bucket: 0.0 if admitted, else seconds until it would be."""
        now = self._clock.now()
        mirror = self._mirrors.get(name)
        if mirror is None:
            if len(self._mirrors) >= self._max_buckets:
                self._forget_idle(now)
            mirror = self._mirrors[name] = _Mirror(rate.burst, now, rate)
        level = _refilled(mirror, now)
        mirror.at = now
        mirror.touched = True
        if level >= 1.0:
            mirror.level = level - 1.0
            mirror.unsynced += 1
            return 0.0
        mirror.level = level
        return (1.0 - level) / mirror.rate.per_second

    def drain(self) -> list[Spend]:
        """What to charge to the shared buckets: every bucket asked since the last drain."""
        spends = []
        for name, mirror in self._mirrors.items():
            if mirror.touched:
                spends.append(Spend(name, mirror.unsynced, mirror.rate))
                mirror.unsynced = 0
                mirror.touched = False
        self._forget_idle(self._clock.now())
        return spends

    def settle(self, name: str, shared_level: float, at: float) -> None:
        """Adopt the shared bucket's level at `at` (after this process's spend was charged).

        Requests admitted here since the drain are not in it yet: they stay charged to the mirror.
        """
        mirror = self._mirrors.get(name)
        if mirror is None:
            return
        mirror.level = shared_level - mirror.unsynced
        mirror.at = at

    def restore(self, spends: list[Spend]) -> None:
        """A sync that failed: its spends are charged again at the next one."""
        for spend in spends:
            mirror = self._mirrors.get(spend.name)
            if mirror is not None:
                mirror.unsynced += spend.spent
                mirror.touched = True

    def _forget_idle(self, now: float) -> None:
        """Drop mirrors with nothing to sync whose bucket has refilled: a fresh mirror is the same."""
        self._mirrors = {
            name: mirror
            for name, mirror in self._mirrors.items()
            if mirror.touched or mirror.unsynced or _refilled(mirror, now) < mirror.rate.burst
        }


def _refilled(mirror: _Mirror, now: float) -> float:
    elapsed = max(0.0, now - mirror.at)
    return min(mirror.rate.burst, mirror.level + elapsed * mirror.rate.per_second)
