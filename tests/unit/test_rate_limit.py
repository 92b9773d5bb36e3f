"""The sliding-window limit on a manual clock: the bound holds for every window, nobody waits forever."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.clock import ManualClock
from pushwise.domain.rate_limit import SlidingWindowLimit

# Gaps between attempts, in seconds: bursts (0), sub-slot steps and jumps past a whole window.
gaps = st.lists(
    st.one_of(
        st.just(0.0), st.floats(min_value=0.0, max_value=3.0), st.floats(min_value=0.0, max_value=40.0)
    ),
    min_size=1,
    max_size=300,
)


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of admissions within any half-open window (t - window, t]."""
    best = 0
    for end_index, end in enumerate(times):
        start_index = bisect.bisect_right(times, end - window)
        best = max(best, end_index - start_index + 1)
    return best


@settings(max_examples=200, deadline=None)
@given(
    gaps=gaps,
    limit=st.integers(min_value=1, max_value=20),
    slots=st.integers(min_value=1, max_value=12),
    window=st.sampled_from([1.0, 10.0, 60.0]),
)
def test_never_more_than_limit_in_any_window(
    gaps: list[float], limit: int, slots: int, window: float
) -> None:
    clock = ManualClock(1_000.0)
    quota = SlidingWindowLimit(limit, window, clock, slots=slots)
    admitted: list[float] = []
    for gap in gaps:
        clock.advance(gap)
        if quota.try_acquire() == 0.0:
            admitted.append(clock.now())
    assert most_in_any_window(admitted, window) <= limit


@settings(max_examples=200, deadline=None)
@given(
    gaps=gaps,
    limit=st.integers(min_value=1, max_value=20),
    slots=st.integers(min_value=1, max_value=12),
    window=st.sampled_from([1.0, 10.0, 60.0]),
)
def test_waiting_as_told_is_always_enough(gaps: list[float], limit: int, slots: int, window: float) -> None:
    """No starvation: a caller told to wait is admitted after that wait (at most a window and a slot)."""
    clock = ManualClock(1_000.0)
    quota = SlidingWindowLimit(limit, window, clock, slots=slots)
    for gap in gaps:
        clock.advance(gap)
        wait = quota.try_acquire()
        if wait:
            # Waits are rounded up to the millisecond, and float error may add one more.
            assert 0 < wait <= window + window / slots + 2e-3
            clock.advance(wait)
            assert quota.try_acquire() == 0.0


def test_steady_demand_gets_most_of_the_quota() -> None:
    clock = ManualClock(0.0)
    quota = SlidingWindowLimit(600, 60.0, clock, slots=60)
    admitted = 0
    for _ in range(60 * 100):  # ten minutes of 10 attempts per second against 10 per second allowed
        clock.advance(0.1)
        admitted += quota.try_acquire() == 0.0
    assert admitted >= 6000 * 60 / 61 - 600


def test_a_refusal_takes_nothing() -> None:
    clock = ManualClock(0.0)
    quota = SlidingWindowLimit(2, 10.0, clock, slots=10)
    assert quota.try_acquire(2) == 0.0
    for _ in range(5):
        assert quota.try_acquire() > 0
    assert quota.in_window() == 2


def test_wait_is_until_the_oldest_slot_leaves_the_count() -> None:
    clock = ManualClock(0.0)
    quota = SlidingWindowLimit(3, 10.0, clock, slots=10)
    quota.try_acquire()  # slot 0
    clock.advance(4.5)
    quota.try_acquire(2)  # slot 4
    # Slot 0 stops counting once slot 11 begins (the last 10 whole slots plus the current one).
    assert quota.try_acquire() == pytest.approx(11.0 - 4.5)
    clock.advance(11.0 - 4.5)
    assert quota.try_acquire() == 0.0


def test_a_clock_stepping_back_does_not_reopen_the_quota() -> None:
    clock = ManualClock(100.0)
    quota = SlidingWindowLimit(1, 10.0, clock)
    assert quota.try_acquire() == 0.0
    clock.set(50.0)
    assert quota.try_acquire() > 0


@pytest.mark.parametrize(("limit", "window", "slots"), [(0, 1.0, 1), (1, 0.0, 1), (1, 1.0, 0)])
def test_impossible_limits_are_refused(limit: int, window: float, slots: int) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        SlidingWindowLimit(limit, window, ManualClock(), slots=slots)
