"""The gate's preference check: properties over every channel, category rule and user choice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.audience.preferences import (
    Category,
    PreferenceChange,
    PreferenceRefused,
    Preferences,
    allowed,
    check_change,
    effective_choices,
)
from pushwise.domain.channels import DELIVERY_CHANNELS
from pushwise.domain.gate import SEND, GateDelivery, GatePolicy, Suppress, UserState, decide
from pushwise.domain.gate.preferences import LAW_BOUND_UNSUBSCRIBES

KEYS = ("promotions", "orders", "news")
channels = st.sampled_from(DELIVERY_CHANNELS)
keys = st.sampled_from(KEYS)
categories = st.builds(
    Category,
    key=keys,
    name=st.just("name"),
    default_on=st.booleans(),
    channels=st.none() | st.lists(channels, min_size=1, unique=True).map(tuple),
)
policies = st.lists(categories, max_size=3, unique_by=lambda c: c.key).map(
    lambda found: GatePolicy({c.key: c for c in found})
)
preferences = st.builds(
    Preferences,
    choices=st.dictionaries(st.tuples(keys, channels), st.booleans(), max_size=8),
    unsubscribed=st.frozensets(channels, max_size=3),
)
deliveries = st.builds(GateDelivery, channel=channels, category=st.none() | keys, transactional=st.booleans())


def gate(delivery: GateDelivery, prefs: Preferences, policy: GatePolicy):
    return decide(delivery, UserState(prefs), policy, 0.0)


@given(deliveries, preferences, policies)
def test_a_global_unsubscribe_stops_all_but_transactional_messages_where_the_law_lets_them_through(
    delivery, prefs, policy
) -> None:
    decision = gate(delivery, prefs, policy)
    if delivery.channel in prefs.unsubscribed:
        binding = not delivery.transactional or delivery.channel in LAW_BOUND_UNSUBSCRIBES
        assert (decision == Suppress(f"unsubscribed:{delivery.channel}")) == binding
    else:
        assert not (isinstance(decision, Suppress) and decision.reason.startswith("unsubscribed:"))


@given(deliveries, preferences, policies)
def test_transactional_messages_ignore_opt_outs_and_defaults(delivery, prefs, policy) -> None:
    decision = gate(delivery, prefs, policy)
    if delivery.transactional:
        assert not (isinstance(decision, Suppress) and decision.reason.startswith("opted_out:"))


@given(deliveries, preferences, policies)
def test_marketing_goes_exactly_where_the_page_shows_it_allowed(delivery, prefs, policy) -> None:
    """The gate and what the API and page show (`effective_choices`) never disagree."""
    if delivery.transactional or delivery.category is None or delivery.channel in prefs.unsubscribed:
        return
    decision = gate(delivery, prefs, policy)
    shown = effective_choices(policy.categories.values(), prefs).get(delivery.category, {})
    category = policy.categories.get(delivery.category)
    if category is not None and not category.carries(delivery.channel):
        assert decision == Suppress(f"category_channels:{delivery.category}")
    elif shown.get(delivery.channel, True):
        assert decision == SEND
    else:
        assert decision == Suppress(f"opted_out:{delivery.category}")


@given(deliveries, preferences, policies)
def test_a_category_limited_to_some_channels_holds_for_every_priority(delivery, prefs, policy) -> None:
    category = policy.categories.get(delivery.category or "")
    if category is None or category.carries(delivery.channel) or delivery.channel in prefs.unsubscribed:
        return
    assert gate(delivery, prefs, policy) == Suppress(f"category_channels:{category.key}")


@given(channels, st.booleans(), st.booleans())
def test_a_choice_beats_the_default_and_no_choice_follows_it(channel, default_on, choice) -> None:
    category = Category("promotions", "Promotions", default_on=default_on)
    chosen = Preferences({("promotions", channel): choice})
    assert allowed(category, "promotions", channel, chosen) is choice
    assert allowed(category, "promotions", channel, Preferences()) is default_on


def test_without_categories_or_a_user_everything_is_sent() -> None:
    for channel in DELIVERY_CHANNELS:
        for category in (None, "promotions"):
            assert gate(GateDelivery(channel, category, False), Preferences(), GatePolicy()) == SEND


def test_a_choice_stored_for_a_category_the_app_dropped_still_counts() -> None:
    prefs = Preferences({("old", "apns"): False})
    assert gate(GateDelivery("apns", "old", False), prefs, GatePolicy()) == Suppress("opted_out:old")
    assert effective_choices([], prefs) == {"old": {"apns": False}}


def test_a_category_without_channels_offers_every_channel() -> None:
    grid = effective_choices([Category("news", "News", default_on=False)], Preferences())
    assert grid == {"news": dict.fromkeys(DELIVERY_CHANNELS, False)}


ORDERS = {"orders": Category("orders", "Orders", channels=("email",))}


@pytest.mark.parametrize(
    ("cell", "path"),
    [
        (("promos", "email"), "categories.promos"),
        (("orders", "sms"), "categories.orders.sms"),
        (("orders", "apns"), "categories.orders.apns"),
    ],
)
def test_changes_naming_what_the_app_does_not_define_are_refused_with_their_path(cell, path) -> None:
    with pytest.raises(PreferenceRefused) as refused:
        check_change(PreferenceChange(cells={cell: False}), ORDERS)
    assert refused.value.field == path
