"""Journeys as a state machine: parsing with paths, stepping through waits, branches and sends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.campaigns.conditions import ConditionInvalid, RunFacts, holds, profile_leaves
from pushwise.domain.campaigns.journeys import (
    START,
    Finished,
    JourneyInvalid,
    NeedsAnswer,
    SendNow,
    SleepUntil,
    parse_journey,
    step,
)
from pushwise.domain.campaigns.recipes import RECIPES, recipe_journey
from pushwise.domain.campaigns.schedule import ScheduleInvalid, check_cron, local_time_of, next_run

HOUR, DAY = 3600.0, 86_400.0
NOTIFY = {"content": {"title": "Your cart misses you"}}
CART = parse_journey(recipe_journey("abandoned_cart", {"notify": NOTIFY}))


def walk(journey, answers: list[bool], now: float = 0.0, timezone: str | None = "UTC"):
    """Step a run to its end, answering conditions from `answers`; returns what it did."""
    pointer, done = START, []
    while True:
        action = step(journey, pointer, now=now, timezone=timezone)
        if isinstance(action, NeedsAnswer):
            action = step(journey, pointer, now=now, timezone=timezone, answer=answers.pop(0))
        if isinstance(action, Finished):
            return done
        if isinstance(action, SendNow):
            done.append(("send", action.step_id))
        else:
            assert isinstance(action, SleepUntil)
            done.append(("sleep", action.until - now))
            now = action.until
        pointer = action.next
        if not pointer:
            return done


def test_the_abandoned_cart_reminds_after_an_hour_and_again_only_without_a_purchase() -> None:
    assert walk(CART, [True]) == [("sleep", HOUR), ("send", "1"), ("sleep", DAY), ("send", "3/then/0")]
    assert walk(CART, [False]) == [("sleep", HOUR), ("send", "1"), ("sleep", DAY)]
    assert CART.exit_events == {"purchased", "unsubscribed"}
    assert CART.reentry_seconds == DAY


def test_wait_until_local_lands_on_the_users_own_clock() -> None:
    journey = parse_journey(
        {"trigger": {"event": "app_open"}, "steps": [{"wait_until_local": "09:00"}, {"notify": NOTIFY}]}
    )
    now = 1_800_000_000.0  # 2027-01-15 08:00 UTC
    berlin = step(journey, START, now=now, timezone="Europe/Berlin")  # 09:00 there: due now
    shanghai = step(journey, START, now=now, timezone="Asia/Shanghai")  # 16:00 there: tomorrow
    assert isinstance(berlin, SleepUntil)
    assert isinstance(shanghai, SleepUntil)
    assert berlin.until == now
    assert shanghai.until == now + 17 * HOUR


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        ({"steps": [{"notify": NOTIFY}]}, "trigger"),
        ({"trigger": {"event": "x"}, "steps": []}, "steps"),
        ({"trigger": {"event": "x"}, "steps": [{"wait_seconds": 5}]}, "steps"),
        (
            {"trigger": {"event": "x"}, "steps": [{"wait_seconds": -1}, {"notify": NOTIFY}]},
            "steps[0].wait_seconds",
        ),
        (
            {"trigger": {"event": "x"}, "steps": [{"wait_until_local": "25:00"}, {"notify": NOTIFY}]},
            "steps[0].wait_until_local",
        ),
        (
            {"trigger": {"event": "x"}, "steps": [{"notify": {**NOTIFY, "to": {"all": True}}}]},
            "steps[0].notify",
        ),
        ({"trigger": {"event": "x"}, "steps": [{"if": [], "then": [{"notify": NOTIFY}]}]}, "steps[0].if"),
        ({"trigger": {"event": "x"}, "steps": [{"dance": 1}]}, "steps[0]"),
        (
            {"trigger": {"event": "x"}, "steps": [{"notify": NOTIFY}], "reentry_seconds": -5},
            "reentry_seconds",
        ),
        ({"trigger": {"event": "x"}, "steps": [{"notify": NOTIFY}], "exit": "purchased"}, "exit"),
        ({"trigger": {"event": "x"}, "steps": [{"notify": NOTIFY}], "exit": {"event": 3}}, "exit.event"),
        ({"trigger": {"event": "x"}, "steps": [{"notify": NOTIFY}], "exit": {"events": []}}, "exit.events"),
        (
            {"trigger": {"event": "x"}, "steps": [{"notify": NOTIFY}], "exit": {"events": ["purchased", ""]}},
            "exit.events[1]",
        ),
        (
            {
                "trigger": {"event": "x"},
                "steps": [{"notify": NOTIFY}],
                "exit": {"event": "a", "events": ["b"]},
            },
            "exit",
        ),
    ],
)
def test_bad_journeys_are_refused_with_the_path(definition, path) -> None:
    with pytest.raises(JourneyInvalid) as refused:
        parse_journey(definition)
    assert refused.value.path == path


def test_conditions_mix_profile_leaves_with_what_the_run_knows() -> None:
    rule = {
        "all": [
            {"field": "did.purchased", "op": "exists", "value": False},
            {"field": "event.value", "op": ">=", "value": 50},
            {
                "any": [
                    {"field": "country", "op": "=", "value": "DE"},
                    {"field": "tags", "op": "contains", "value": "vip"},
                ]
            },
        ]
    }
    leaves = profile_leaves(rule)
    assert set(leaves) == {"if.all[2].any[0]", "if.all[2].any[1]"}
    facts = RunFacts({"if.all[2].any[1]": True}, did=set(), event={"value": 59.0})
    assert holds(rule, facts)
    assert not holds(rule, RunFacts(facts.profile, did={"purchased"}, event=facts.event))
    assert not holds(rule, RunFacts(facts.profile, did=set(), event={"value": 10}))
    with pytest.raises(ConditionInvalid):
        profile_leaves({"field": "did.teleported", "op": "exists", "value": True})


def test_exits_name_one_event_or_several() -> None:
    base = {"trigger": {"event": "x"}, "steps": [{"notify": NOTIFY}]}
    assert parse_journey({**base, "exit": {"event": "purchased"}}).exit_events == {"purchased"}
    both = parse_journey({**base, "exit": {"events": ["purchased", "unsubscribed"]}})
    assert both.exit_events == {"purchased", "unsubscribed"}
    assert parse_journey(base).exit_events == frozenset()


def test_every_recipe_leaves_on_unsubscribe_and_the_shopping_ones_on_purchase() -> None:
    for name in RECIPES:
        exits = parse_journey(recipe_journey(name, {"notify": NOTIFY})).exit_events
        assert "unsubscribed" in exits
        assert ("purchased" in exits) == (name != "new_arrival")
    own = recipe_journey("abandoned_cart", {"notify": NOTIFY, "exit": {"event": "custom:checkout"}})
    assert parse_journey(own).exit_events == {"custom:checkout"}


@given(st.lists(st.booleans(), min_size=1, max_size=3))
def test_every_recipe_finishes_and_sends_at_least_once(answers) -> None:
    for name in RECIPES:
        journey = parse_journey(recipe_journey(name, {"notify": NOTIFY}))
        done = walk(journey, list(answers) * 3)
        assert any(kind == "send" for kind, _ in done)


def test_cron_schedules_in_a_zone_or_each_users_own() -> None:
    monday_0900_berlin = 1_801_468_800.0  # Monday 2027-02-01, 09:00 in Berlin (08:00 UTC)
    assert next_run("0 9 * * 1", "Europe/Berlin", monday_0900_berlin - 60) == monday_0900_berlin
    assert local_time_of("30 9 * * *") == "09:30"
    assert local_time_of("*/15 * * * *") is None
    with pytest.raises(ScheduleInvalid):
        check_cron("*/15 * * * *", "user")
    with pytest.raises(ScheduleInvalid):
        check_cron("0 9 * * *", "Mars/Olympus")
