"""Request budgets on a manual clock: the token-bucket bound on one process, `Retry-After` that is
honoured, and the cluster bound when several processes share a bucket through periodic syncs."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.clock import ManualClock
from pushwise.domain.request_budget import BudgetRate, RequestBudgets, Spend

gaps = st.lists(st.one_of(st.just(0.0), st.floats(0.0, 0.05), st.floats(0.0, 3.0)), min_size=1, max_size=300)
rates = st.sampled_from([0.5, 1.0, 3.0, 10.0, 100.0])


@settings(max_examples=100, deadline=None)
@given(gaps=gaps, per_second=rates)
def test_one_process_admits_at_most_the_burst_plus_the_refill_in_any_interval(
    gaps: list[float], per_second: float
) -> None:
    clock = ManualClock()
    budgets = RequestBudgets(clock)
    rate = BudgetRate.doubled(per_second)
    admitted: list[float] = []
    for gap in gaps:
        clock.advance(gap)
        if budgets.take("key:k", rate) == 0.0:
            admitted.append(clock.now())
    for first in range(len(admitted)):
        for last in range(first, len(admitted)):
            span = admitted[last] - admitted[first]
            assert last - first + 1 <= rate.burst + per_second * span + 1e-9


@settings(max_examples=200, deadline=None)
@given(gaps=gaps, per_second=rates)
def test_a_caller_who_waits_as_told_is_served(gaps: list[float], per_second: float) -> None:
    clock = ManualClock()
    budgets = RequestBudgets(clock)
    rate = BudgetRate.doubled(per_second)
    for gap in gaps:
        clock.advance(gap)
        wait = budgets.take("ip:203.0.113.9", rate)
        if wait:
            clock.advance(math.ceil(wait))  # Retry-After is whole seconds, rounded up
            assert budgets.take("ip:203.0.113.9", rate) == 0.0


def test_buckets_are_separate_and_a_refusal_takes_nothing() -> None:
    clock = ManualClock()
    budgets = RequestBudgets(clock)
    rate = BudgetRate.doubled(2.0)
    assert [budgets.take("key:a", rate) for _ in range(4)] == [0.0] * 4
    assert budgets.take("key:a", rate) == 0.5
    assert budgets.take("key:a", rate) == 0.5  # refused twice, still half a second away
    assert budgets.take("key:b", rate) == 0.0
    clock.advance(0.5)
    assert budgets.take("key:a", rate) == 0.0


class SharedBucket:
    """The database side, as `pushwise.store.request_budgets` computes it in SQL."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[float, float]] = {}

    def charge(self, spends: list[Spend], now: float) -> dict[str, float]:
        levels = {}
        for spend in spends:
            level, at = self.rows.get(spend.name, (spend.rate.burst, now))
            level = min(spend.rate.burst, level + spend.rate.per_second * max(0.0, now - at)) - spend.spent
            self.rows[spend.name] = (level, max(at, now))
            levels[spend.name] = level
        return levels


@settings(max_examples=150, deadline=None)
@given(
    processes=st.integers(2, 5),
    per_second=st.sampled_from([1.0, 5.0, 20.0]),
    sync_every=st.sampled_from([0.1, 0.5, 1.0]),
    schedule=st.lists(st.tuples(st.integers(0, 4), st.floats(0.0, 0.2)), min_size=50, max_size=600),
)
def test_a_cluster_serves_the_shared_rate_plus_a_bounded_overshoot(
    processes: int, per_second: float, sync_every: float, schedule: list[tuple[int, float]]
) -> None:
    """However requests are spread over the processes, the whole cluster admits at most the burst
    plus the refill, plus what each process may overshoot between two syncs."""
    clock = ManualClock()
    start = clock.now()
    shared = SharedBucket()
    mirrors = [RequestBudgets(clock) for _ in range(processes)]
    rate = BudgetRate.doubled(per_second)
    admitted = 0
    next_sync = start + sync_every
    for who, gap in schedule:
        clock.advance(gap)
        while clock.now() >= next_sync:
            for mirror in mirrors:
                for name, level in shared.charge(mirror.drain(), clock.now()).items():
                    mirror.settle(name, level, clock.now())
            next_sync += sync_every
        if mirrors[who % processes].take("key:shared", rate) == 0.0:
            admitted += 1
    elapsed = clock.now() - start
    overshoot = processes * (rate.burst + per_second * sync_every + 1)
    assert admitted <= rate.burst + per_second * elapsed + overshoot  # not processes x per_second


def test_a_failed_sync_charges_its_spends_at_the_next_one() -> None:
    clock = ManualClock()
    budgets = RequestBudgets(clock)
    rate = BudgetRate.doubled(10.0)
    for _ in range(5):
        budgets.take("key:k", rate)
    spends = budgets.drain()
    assert spends == [Spend("key:k", 5, rate)]
    budgets.restore(spends)
    budgets.take("key:k", rate)
    assert budgets.drain() == [Spend("key:k", 6, rate)]
    assert budgets.drain() == []
