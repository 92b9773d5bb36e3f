"""The rolling flush: when a worker writes the outcomes it holds (`domain/flush.py`).

A driver feeds the policy a stream of outcome arrivals the way the worker does (asking
at each arrival and when the oldest one's deadline comes) and writes instantly when told:
nothing waits longer than the interval, never more than `count` wait, and writes are
few (full ones by count, the others each owed to an outcome that reached its deadline).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.flush import FlushPolicy, flush_deadline, flush_due

policies = st.builds(
    FlushPolicy,
    count=st.integers(min_value=1, max_value=50),
    seconds=st.floats(min_value=0.0, max_value=5.0, allow_nan=False),
)
gaps = st.lists(st.floats(min_value=0.0, max_value=2.0, allow_nan=False), max_size=300)


def drive(policy: FlushPolicy, arrivals: list[float]) -> tuple[list[int], list[float], int]:
    """Write sizes, each outcome's wait, and how many writes the deadline (not the count) caused."""
    sizes: list[int] = []
    waits: list[float] = []
    by_deadline = 0
    waiting: list[float] = []

    def write(now: float) -> None:
        sizes.append(len(waiting))
        waits.extend(now - at for at in waiting)
        waiting.clear()

    for at in arrivals:
        while waiting and flush_deadline(policy, waiting[0]) < at:  # the timer fires first
            write(flush_deadline(policy, waiting[0]))
            by_deadline += 1
        waiting.append(at)
        if flush_due(policy, len(waiting), waiting[0], at):
            by_deadline += len(waiting) < policy.count
            write(at)
    if waiting:
        write(flush_deadline(policy, waiting[0]))
        by_deadline += 1
    return sizes, waits, by_deadline


def arrival_times(gap_list: list[float]) -> list[float]:
    times, now = [], 1000.0
    for gap in gap_list:
        now += gap
        times.append(now)
    return times


@given(policy=policies, gap_list=gaps)
def test_no_outcome_waits_beyond_the_interval_nor_beyond_the_count(
    policy: FlushPolicy, gap_list: list[float]
) -> None:
    sizes, waits, _ = drive(policy, arrival_times(gap_list))
    assert sum(sizes) == len(gap_list)  # every outcome written exactly once
    assert all(size <= policy.count for size in sizes)
    assert all(wait <= policy.seconds + 1e-9 for wait in waits)


@given(policy=policies, gap_list=gaps)
def test_writes_are_full_unless_a_deadline_came(policy: FlushPolicy, gap_list: list[float]) -> None:
    sizes, _, by_deadline = drive(policy, arrival_times(gap_list))
    assert sum(1 for size in sizes if size < policy.count) <= by_deadline
    assert len(sizes) <= math.ceil(len(gap_list) / policy.count) + by_deadline


@given(policy=policies, burst=st.integers(min_value=0, max_value=500))
def test_a_burst_is_written_in_full_groups_only(policy: FlushPolicy, burst: int) -> None:
    """Outcomes arriving together (a fast provider) cost one write per `count`, plus the rest
    (an interval of 0 writes each outcome as it comes)."""
    sizes, _, _ = drive(policy, [1000.0] * burst)
    if policy.seconds == 0:
        assert sizes == [1] * burst
        return
    assert len(sizes) == math.ceil(burst / policy.count)


@given(
    policy=policies,
    waiting=st.integers(min_value=-3, max_value=200),
    age=st.floats(min_value=0.0, max_value=10.0, allow_nan=False),
)
def test_due_exactly_when_full_or_old_and_never_when_empty(
    policy: FlushPolicy, waiting: int, age: float
) -> None:
    due = flush_due(policy, waiting, 1000.0, 1000.0 + age)
    assert due == (waiting > 0 and (waiting >= policy.count or age >= policy.seconds))
    # Monotone: more waiting, or waiting longer, never turns a due write into a wait.
    if due:
        assert flush_due(policy, waiting + 1, 1000.0, 1000.0 + age)
        assert flush_due(policy, waiting, 1000.0, 1000.0 + age + 1.0)


def test_nonsense_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        FlushPolicy(count=0)
    with pytest.raises(ValueError, match="negative"):
        FlushPolicy(seconds=-1.0)
