"""Variants: stable even splits, holdouts, Thompson sampling that finds the best variant, recovery,
and the statistics campaign analytics report."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.content.analytics import difference, wilson
from pushwise.domain.content.variants import (
    HOLDOUT,
    ArmStats,
    Recovery,
    bucket,
    held_out,
    split_arm,
    thompson_arm,
)


def test_a_split_is_stable_and_even_with_its_holdout() -> None:
    arms = ["a", "b", "c"]
    counts = Counter(split_arm("exp-1", f"user-{n}", arms, holdout_percent=10) for n in range(30_000))
    assert counts[HOLDOUT] == pytest.approx(3_000, rel=0.06)
    for arm in arms:
        assert counts[arm] == pytest.approx(9_000, rel=0.04)
    assert split_arm("exp-1", "user-7", arms, 10) == split_arm("exp-1", "user-7", arms, 10)
    assert all(
        held_out("exp-1", f"user-{n}", 10) == (split_arm("exp-1", f"user-{n}", arms, 10) == HOLDOUT)
        for n in range(2_000)
    )


@given(st.text(), st.text())
def test_buckets_lie_in_the_unit_interval(experiment: str, user: str) -> None:
    assert 0.0 <= bucket(experiment, user) < 1.0


def test_thompson_sampling_converges_on_the_best_variant_of_a_synthetic_population() -> None:
    """Three variants whose true open rates are 4%, 6% and 9%: the bandit learns which is which."""
    truth = {"a": 0.04, "b": 0.06, "c": 0.09}
    rng = random.Random(20261207)
    trials: Counter[str] = Counter()
    successes: Counter[str] = Counter()
    chosen_late: Counter[str] = Counter()
    for step in range(20_000):
        stats = {arm: ArmStats(trials[arm], successes[arm]) for arm in truth}
        arm = thompson_arm(list(truth), stats, {}, now=0.0, rng=rng)
        trials[arm] += 1
        successes[arm] += rng.random() < truth[arm]
        if step >= 15_000:
            chosen_late[arm] += 1
    assert chosen_late["c"] / 5_000 > 0.85
    assert trials["c"] > trials["b"] > trials["a"]


def test_the_same_seed_makes_the_same_choices() -> None:
    stats = {"a": ArmStats(100, 7), "b": ArmStats(100, 8)}
    first = [thompson_arm(["a", "b"], stats, {}, 0.0, random.Random(5)) for _ in range(3)]
    again = [thompson_arm(["a", "b"], stats, {}, 0.0, random.Random(5)) for _ in range(3)]
    assert first == again


def test_a_variant_seen_yesterday_recovers_and_loses_to_a_fresh_one_today() -> None:
    day = 86_400.0
    recovery = Recovery(penalty=0.5, half_life=7 * day)
    assert recovery.factor(None, 10 * day) == 1.0
    assert recovery.factor(10 * day, 10 * day) == pytest.approx(0.5)
    assert recovery.factor(3 * day, 10 * day) == pytest.approx(0.75)
    # Two equally good variants: the one the user just got is chosen far less often.
    stats = {"a": ArmStats(10_000, 800), "b": ArmStats(10_000, 800)}
    rng = random.Random(1)
    picks = Counter(
        thompson_arm(["a", "b"], stats, {"a": 10 * day}, 10 * day, rng, recovery) for _ in range(500)
    )
    assert picks["b"] > 480


def test_wilson_intervals_hold_the_rate_and_stay_in_bounds() -> None:
    rate = wilson(45, 1000)
    assert rate.value == 0.045
    assert 0.033 < rate.low < 0.045 < rate.high < 0.06
    assert wilson(0, 10).low == 0.0
    assert wilson(10, 10).high == pytest.approx(1.0)
    assert (wilson(0, 0).low, wilson(0, 0).high) == (0.0, 1.0)


def test_uplift_over_the_holdout_with_its_interval_and_p_value() -> None:
    clear = difference(150, 1000, 100, 1000)
    assert clear is not None
    assert clear.value == pytest.approx(0.05)
    assert clear.low > 0
    assert clear.p_value < 0.01
    noise = difference(101, 1000, 100, 1000)
    assert noise is not None
    assert noise.low < 0 < noise.high
    assert noise.p_value > 0.9
    assert difference(5, 10, 0, 0) is None
