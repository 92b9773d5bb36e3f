"""Interest and engagement learning: order-free, decay by half-lives, duplicates irrelevant here
(the event log stores a repeated event once; see the integration tests)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.audience.decay import Decayed, decay_factor
from pushwise.domain.audience.event_types import DEFAULT_INTEREST_WEIGHTS, is_known_type
from pushwise.domain.audience.interests import affinity, raw_for_affinity
from pushwise.domain.audience.learning import (
    ALL_TIME,
    LearnedEvent,
    LearningOptions,
    ProfileDeltas,
    day_of,
    learn,
    open_propensity,
    parse_weights,
)

DAY = 86_400.0
OPTIONS = LearningOptions(
    DEFAULT_INTEREST_WEIGHTS, interest_half_life=14 * DAY, propensity_half_life=30 * DAY
)

EVENTS = st.lists(
    st.builds(
        LearnedEvent,
        user_id=st.sampled_from(["u1", "u2"]),
        type=st.sampled_from(
            ["item_viewed", "purchased", "opened", "clicked", "converted", "not_interested", "app_open"]
        ),
        at=st.floats(min_value=1.7e9, max_value=1.7e9 + 60 * DAY),
        category=st.sampled_from([None, "shoes", "books"]),
        value=st.sampled_from([None, 10.0, 59.5]),
    ),
    max_size=30,
)


def _worth(deltas: ProfileDeltas, now: float) -> dict[tuple[str, str], float]:
    return {key: value.worth(now, OPTIONS.interest_half_life) for key, value in deltas.interests.items()}


def _merged(batches: list[ProfileDeltas]) -> dict[tuple[str, str], Decayed]:
    """Add batches' interests the way the store does (`Decayed.plus` is what its SQL computes)."""
    merged: dict[tuple[str, str], Decayed] = {}
    for deltas in batches:
        for key, value in deltas.interests.items():
            previous = merged.get(key)
            merged[key] = value if previous is None else previous.plus(value.value, value.at, 14 * DAY)
    return merged


@settings(max_examples=200, deadline=None)
@given(EVENTS, st.randoms(use_true_random=False), st.integers(min_value=0, max_value=30))
def test_the_order_and_batching_of_events_do_not_change_what_is_learned(events, rng, split) -> None:
    shuffled = list(events)
    rng.shuffle(shuffled)
    now = 1.7e9 + 61 * DAY
    at_once = learn(events, OPTIONS)
    in_two = _merged([learn(shuffled[:split], OPTIONS), learn(shuffled[split:], OPTIONS)])
    expected = _worth(at_once, now)
    assert set(expected) == set(in_two)
    for key, value in in_two.items():
        assert value.worth(now, OPTIONS.interest_half_life) == pytest.approx(
            expected[key], rel=1e-9, abs=1e-9
        )
    shuffled_deltas = learn(shuffled, OPTIONS)
    assert {k: (v.opened, v.clicked, v.converted) for k, v in at_once.engagement.items()} == {
        k: (v.opened, v.clicked, v.converted) for k, v in shuffled_deltas.engagement.items()
    }
    assert at_once.activity == shuffled_deltas.activity


@given(
    st.floats(min_value=0.01, max_value=1e6),
    st.floats(min_value=1.0, max_value=1e9),
    st.floats(min_value=0.0, max_value=1e9),
)
def test_a_weight_halves_after_one_half_life(value, half_life, at) -> None:
    stored = Decayed(value, at)
    for halvings in (1, 3):
        later = at + halvings * half_life
        elapsed = later - at  # what the float sum kept of the step (far from 0, `at` rounds it)
        expected = value / 2 ** (elapsed / half_life)
        assert stored.worth(later, half_life) == pytest.approx(expected, rel=1e-9)
        assert elapsed / half_life == pytest.approx(halvings, rel=1e-6)
    assert stored.worth(at - 5.0, half_life) == value  # a late clock never inflates it


def test_interest_sums_each_event_decayed_from_its_own_time() -> None:
    t0 = 1.7e9
    events = [
        LearnedEvent("u", "item_viewed", t0, "shoes"),
        LearnedEvent("u", "purchased", t0 + 14 * DAY, "shoes"),
        LearnedEvent("u", "item_viewed", t0, None),  # no category: teaches no interest
    ]
    (shoes,) = learn(events, OPTIONS).interests.values()
    assert shoes.worth(t0 + 14 * DAY, 14 * DAY) == pytest.approx(0.5 + 5.0)


def test_negative_feedback_lowers_an_interest() -> None:
    events = [LearnedEvent("u", "clicked", 0.0, "deals"), LearnedEvent("u", "not_interested", 0.0, "deals")]
    (deals,) = learn(events, OPTIONS).interests.values()
    assert deals.value == pytest.approx(2.0 - 5.0)
    assert affinity(deals.value) < 0


def test_engagement_counts_per_day_and_all_time_with_revenue() -> None:
    t = 1.7e9
    deltas = learn(
        [
            LearnedEvent("u", "opened", t),
            LearnedEvent("u", "converted", t + DAY, value=20.0),
            LearnedEvent("u", "delivered", t),  # the engine counts deliveries, not the device's echo
        ],
        OPTIONS,
    )
    assert deltas.engagement[("u", ALL_TIME)].opened == 1
    assert deltas.engagement[("u", ALL_TIME)].revenue == 20.0
    assert deltas.engagement[("u", day_of(t))].opened == 1
    assert deltas.engagement[("u", day_of(t + DAY))].converted == 1
    assert deltas.activity["u"] == (t, t + DAY)  # delivered says nothing about the person


@given(st.floats(min_value=-0.999, max_value=0.999))
def test_affinity_and_its_inverse_agree(value) -> None:
    assert affinity(raw_for_affinity(value)) == pytest.approx(value, abs=1e-9)


@given(st.floats(min_value=-1e3, max_value=1e3), st.floats(min_value=-1e3, max_value=1e3))
def test_affinity_is_monotonic_and_bounded(a, b) -> None:
    low, high = sorted((a, b))
    assert -1.0 <= affinity(low) <= affinity(high) <= 1.0


@given(st.floats(min_value=0, max_value=1e4), st.floats(min_value=0, max_value=1e4))
def test_open_propensity_stays_a_probability_and_starts_at_the_prior(opens, pushes) -> None:
    assert 0.0 <= open_propensity(opens, pushes) <= 1.0
    assert open_propensity(0, 0) == pytest.approx(0.1)
    assert open_propensity(50, 100) == pytest.approx((50 + 1) / 110)


def test_decay_factor_is_exp_of_half_lives() -> None:
    assert decay_factor(10.0, 10.0) == pytest.approx(0.5)
    assert decay_factor(0.0, 10.0) == 1.0
    assert decay_factor(-3.0, 10.0) == 1.0
    assert decay_factor(25.0, 10.0) == pytest.approx(math.pow(2, -2.5))


def test_weights_setting_overrides_defaults_and_refuses_nonsense() -> None:
    weights = parse_weights("item_viewed=2, custom:wishlist=1.5", DEFAULT_INTEREST_WEIGHTS)
    assert (weights["item_viewed"], weights["custom:wishlist"], weights["purchased"]) == (2.0, 1.5, 5.0)
    with pytest.raises(ValueError, match="event type"):
        parse_weights("purchased", DEFAULT_INTEREST_WEIGHTS)


@pytest.mark.parametrize(
    ("name", "known"),
    [
        ("opened", True),
        ("purchased", True),
        ("custom:wish_list", True),
        ("custom:", False),
        ("bought", False),
    ],
)
def test_event_types(name, known) -> None:
    assert is_known_type(name) is known
