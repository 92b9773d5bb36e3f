"""The gate holds scenario calendars in each user's own country and zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.campaigns.calendar import CalendarInvalid, check_rules, day_for
from pushwise.domain.gate import (
    Defer,
    GateDelivery,
    GateNotice,
    GatePolicy,
    Send,
    Suppress,
    UserState,
    decide,
)
from pushwise.domain.gate.calendar import calendar_check
from pushwise.domain.gate.decision import explain
from pushwise.domain.gate.model import Passed

POLICY = GatePolicy(quiet_hours=None)
RULES = tuple(
    check_rules(
        [
            {"on": {"holiday": "christmas_day", "countries": ["DE"]}, "then": {"suppress": True}},
            {
                "on": {"holiday": "thanksgiving_day"},
                "then": {"quiet_hours": {"start": "00:00", "end": "17:00"}},
            },
            {
                "on": {"holiday": "chinese_new_year_spring_festival"},
                "then": {"send_window": {"start": "19:00", "end": "21:00"}},
            },
            {"on": {"shop_day": "singles_day"}, "then": {"template": "double11"}},
        ]
    )
)


def _at(year: int, month: int, day: int, hour: int, minute: int, zone: str) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp()


def _delivery(transactional: bool = False, rules: tuple[dict[str, Any], ...] = RULES) -> GateDelivery:
    notice = GateNotice(id="n", created_at=0.0, expires_at=None, calendar=rules)
    return GateDelivery("apns", None, transactional, id=1, notice=notice, app_id="app", user_id="ann")


def _user(zone: str, country: str) -> UserState:
    return UserState(timezone=zone, country=country)


def test_no_marketing_on_christmas_day_in_berlin_from_its_first_minute() -> None:
    user = _user("Europe/Berlin", "DE")
    christmas = _at(2026, 12, 25, 0, 0, "Europe/Berlin")
    assert decide(_delivery(), user, POLICY, christmas) == Suppress("calendar:christmas_day")
    assert decide(_delivery(), user, POLICY, christmas - 60) == Send()  # still Christmas Eve in Berlin
    # the rule is Germany's: a user in London has Christmas too, but no rule for it
    assert decide(_delivery(), _user("Europe/London", "GB"), POLICY, christmas + 3600) == Send()


def test_thanksgiving_quiet_until_five_in_the_users_own_zone() -> None:
    user = _user("America/Los_Angeles", "US")
    morning = _at(2026, 11, 26, 9, 0, "America/Los_Angeles")
    decided = decide(_delivery(), user, POLICY, morning)
    assert decided == Defer(_at(2026, 11, 26, 17, 0, "America/Los_Angeles"), "calendar:thanksgiving_day")
    assert decide(_delivery(), user, POLICY, _at(2026, 11, 26, 18, 0, "America/Los_Angeles")) == Send()


def test_spring_festival_sends_only_in_its_evening_window_in_shanghai() -> None:
    user = _user("Asia/Shanghai", "CN")
    noon = _at(2026, 2, 17, 12, 0, "Asia/Shanghai")
    assert decide(_delivery(), user, POLICY, noon) == Defer(
        _at(2026, 2, 17, 19, 0, "Asia/Shanghai"), "calendar:chinese_new_year_spring_festival"
    )
    assert decide(_delivery(), user, POLICY, _at(2026, 2, 17, 20, 0, "Asia/Shanghai")) == Send()


def test_transactional_messages_and_template_rules_pass() -> None:
    christmas = _at(2026, 12, 25, 12, 0, "Europe/Berlin")
    assert decide(_delivery(transactional=True), _user("Europe/Berlin", "DE"), POLICY, christmas) == Send()
    double11 = _at(2026, 11, 11, 12, 0, "Asia/Shanghai")
    verdict = calendar_check(_delivery(), _user("Asia/Shanghai", "CN"), POLICY, double11)
    assert isinstance(verdict, Passed)
    assert "template" in verdict.detail


def test_explain_names_the_calendar_step() -> None:
    christmas = _at(2026, 12, 25, 12, 0, "Europe/Berlin")
    decision, steps = explain(_delivery(), _user("Europe/Berlin", "DE"), POLICY, christmas)
    assert decision == Suppress("calendar:christmas_day")
    [step] = [s for s in steps if s.check == "calendar"]
    assert (step.result, step.detail) == ("suppress", "calendar:christmas_day")


@pytest.mark.parametrize(
    ("then", "path"),
    [
        ({"suppress": False}, "calendar[0].then.suppress"),
        ({"template": ""}, "calendar[0].then.template"),
        ({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "calendar[0].then.quiet_hours"),
        ({"send_window": {"start": "09:00"}}, "calendar[0].then.send_window"),
        ({"send_window": {"start": "09:00", "end": "09:00"}}, "calendar[0].then.send_window"),
    ],
)
def test_bad_rule_outcomes_are_refused_with_the_path(then: dict[str, Any], path: str) -> None:
    with pytest.raises(CalendarInvalid) as refused:
        check_rules([{"on": {"season": "winter"}, "then": then}])
    assert refused.value.path == path


ZONES = ("Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Sydney", "Asia/Kolkata")
COUNTRIES = {"Europe/Berlin": "DE", "America/New_York": "US", "Asia/Shanghai": "CN", "Australia/Sydney": "AU"}
hours = st.sampled_from([f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)])


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=hours,
    end=hours,
    kind=st.sampled_from(("quiet_hours", "send_window")),
    at=st.floats(datetime(2026, 1, 1, tzinfo=UTC).timestamp(), datetime(2027, 1, 1, tzinfo=UTC).timestamp()),
)
def test_a_held_push_waits_for_a_sending_hour_of_a_day_the_rule_held(
    zone: str, start: str, end: str, kind: str, at: float
) -> None:
    """Whatever the zone, DST or hours: a deferral ends later, in an hour the rule lets through."""
    if start == end:
        return
    rules = tuple(check_rules([{"on": {"season": "winter"}, "then": {kind: {"start": start, "end": end}}}]))
    user = _user(zone, COUNTRIES.get(zone, "IN"))
    decided = decide(_delivery(rules=rules), user, POLICY, at)
    season = day_for(at, zone, user.country).season
    if season != "winter":
        assert decided == Send()
        return
    if isinstance(decided, Send):
        return
    assert isinstance(decided, Defer)
    assert decided.reason == "calendar:winter"
    assert decided.until > at
    assert decide(_delivery(rules=rules), user, POLICY, decided.until) == Send()
