"""Pure uplift math: outcome windows, policy values by inverse propensity, the choice, the decision."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.uplift.choice import choose
from pushwise.domain.uplift.decision import Shrinkage, decide, fixed, personalised
from pushwise.domain.uplift.estimates import mean_estimate, mean_of
from pushwise.domain.uplift.outcomes import ObservedEvent, in_window, outcome
from pushwise.domain.uplift.policy import LoggedRow, difference, fixed_policies, value

ARMS = ("control", "a", "b")


def test_the_window_is_half_open() -> None:
    assert in_window(100.0, 100.0, 10.0)
    assert in_window(109.999, 100.0, 10.0)
    assert not in_window(110.0, 100.0, 10.0)
    assert not in_window(99.999, 100.0, 10.0)


@given(
    st.lists(st.tuples(st.floats(-50, 150), st.none() | st.floats(0, 100)), max_size=20),
    st.floats(1, 100),
)
def test_any_is_whether_sum_counts_and_both_see_only_the_window(events, window) -> None:
    observed = [ObservedEvent(at, v) for at, v in events]
    inside = [e for e in observed if 0.0 <= e.at < window]
    assert outcome(observed, 0.0, window, "any") == (1.0 if inside else 0.0)
    assert outcome(observed, 0.0, window, "sum") == pytest.approx(sum(e.value or 0.0 for e in inside))


def test_means_come_with_intervals_that_narrow_with_more_users() -> None:
    assert mean_estimate(0, 0.0, 0.0) is None
    one = mean_of([3.0])
    assert one is not None
    assert one.low == one.high == 3.0
    small, large = mean_of([0.0, 1.0] * 10), mean_of([0.0, 1.0] * 1000)
    assert small is not None
    assert large is not None
    assert small.value == large.value == 0.5
    assert large.high - large.low < small.high - small.low


def _rows(seed: int, n: int = 3000) -> list[LoggedRow]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        arm = rng.choice(ARMS)
        rows.append(LoggedRow(arm, 1 / 3, float(rng.random() < {"control": 0.1, "a": 0.3, "b": 0.15}[arm])))
    return rows


def test_a_fixed_policy_is_worth_its_arms_mean_net_of_cost() -> None:
    rows = _rows(1)
    everyone_a = value(rows, ["a"] * len(rows), "control", cost=0.05)
    mean_a = sum(r.outcome for r in rows if r.arm == "a") / sum(r.arm == "a" for r in rows)
    assert everyone_a.estimate.value == pytest.approx(mean_a - 0.05)
    assert everyone_a.send_fraction == 1.0
    nobody = value(rows, ["control"] * len(rows), "control", cost=0.05)
    assert nobody.send_fraction == 0.0
    assert nobody.estimate.low < 0.1 < nobody.estimate.high
    gain = difference(everyone_a, nobody)
    assert gain.low > 0
    assert fixed_policies(ARMS, "control") == {"all:a": "a", "all:b": "b", "none": "control"}


@given(st.integers(0, 10_000), st.floats(0, 0.5))
def test_the_chosen_policy_is_never_worse_in_validation_than_the_best_fixed(seed, cost) -> None:
    rows = _rows(seed, 600)
    rng = random.Random(seed)
    noise = [{"a": rng.uniform(-0.2, 0.4), "b": rng.uniform(-0.2, 0.4)} for _ in rows]
    choice = choose(rows, noise, ARMS, "control", cost)
    best = max(v.estimate.value for v in choice.fixed.values())
    assert choice.chosen.estimate.value >= best - 1e-12
    if choice.fallback is None:
        assert choice.gain.low > 0


def test_uninformative_scores_fall_back_to_the_best_fixed_policy() -> None:
    rows = _rows(2)
    rng = random.Random(2)
    noise = [{"a": rng.gauss(0.2, 0.1), "b": rng.gauss(0.05, 0.1)} for _ in rows]
    choice = choose(rows, noise, ARMS, "control", cost=0.0)
    assert choice.fallback == "all:a"
    assert choice.chosen.send_fraction == 1.0


def test_true_scores_are_kept() -> None:
    rng = random.Random(3)
    rows, scores = [], []
    for _ in range(4000):
        responsive = rng.random() < 0.3
        arm = rng.choice(("control", "a"))
        chance = 0.1 + (0.4 if responsive and arm == "a" else 0.0)
        rows.append(LoggedRow(arm, 0.5, float(rng.random() < chance)))
        scores.append({"a": 0.4 if responsive else 0.0})
    choice = choose(rows, scores, ("control", "a"), "control", cost=0.1)
    assert choice.fallback is None
    assert choice.chosen.send_fraction == pytest.approx(0.3, abs=0.03)


@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.floats(-1, 1), min_size=1),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_a_higher_cost_never_sends_more(uplift, low, high) -> None:
    cheap, dear = sorted((low, high))
    assert personalised(uplift, dear).send <= personalised(uplift, cheap).send
    decision = personalised(uplift, cheap)
    assert decision.uplift[decision.best_arm] == max(uplift.values())
    assert not personalised(uplift, max(uplift.values()) + 1e-9).send


def test_shrinkage_pulls_toward_the_average_and_fixed_policies_ignore_scores() -> None:
    shrink = {"a": Shrinkage(average=0.1, centre=0.2, factor=0.5)}
    assert decide({"a": 0.4}, shrink, cost=0.0, fallback=None).uplift["a"] == pytest.approx(0.2)
    assert decide({"a": 0.4}, {"a": Shrinkage(0.1, 0.2, 0.0)}, 0.0, None).uplift["a"] == pytest.approx(0.1)
    assert fixed({"a": -5.0}, "all:a").send
    assert not fixed({"a": 5.0}, "none").send
    with pytest.raises(ValueError, match="fixed policy"):
        fixed({"a": 1.0}, "all:z")
    assert math.isfinite(decide({"a": 0.4}, shrink, 0.0, "none").uplift["a"])
