"""Scenario calendars in each user's own country and zone: China, the US and Germany, DST edges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pushwise.domain.campaigns.calendar import CalendarInvalid, check_rules, day_for, matched


def instant(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


RULES = check_rules(
    [
        {"on": {"holiday": "chinese_new_year_spring_festival"}, "then": {"template": "spring"}},
        {"on": {"holiday": "thanksgiving_day", "countries": ["US"]}, "then": {"suppress": True}},
        {"on": {"shop_day": "black_friday"}, "then": {"template": "deals"}},
        {"on": {"holiday": "christmas_day"}, "then": {"template": "xmas"}},
        {"on": {"dates": ["11-11"]}, "then": {"template": "singles"}},
        {"on": {"season": "summer"}, "then": {"template": "summer"}},
    ]
)


@pytest.mark.parametrize(
    ("at", "timezone", "country", "what", "then"),
    [
        # Spring Festival 2027 is 6 February: 17:00 UTC on the 5th is 01:00 on the 6th in Shanghai.
        (
            instant(2027, 2, 5, 17),
            "Asia/Shanghai",
            "CN",
            "chinese_new_year_spring_festival",
            {"template": "spring"},
        ),
        (instant(2027, 2, 5, 15), "Asia/Shanghai", "CN", None, None),  # 23:00 on New Year's Eve
        (instant(2026, 11, 26, 15), "America/New_York", "US", "thanksgiving_day", {"suppress": True}),
        (
            instant(2026, 11, 27, 3),
            "America/Los_Angeles",
            "US",
            "thanksgiving_day",
            {"suppress": True},
        ),  # 19:00 PST
        (instant(2026, 11, 27, 15), "America/New_York", "US", "black_friday", {"template": "deals"}),
        (
            instant(2026, 12, 24, 23, 30),
            "Europe/Berlin",
            "DE",
            "christmas_day",
            {"template": "xmas"},
        ),  # 00:30
        (instant(2026, 12, 24, 22, 30), "Europe/Berlin", "DE", None, None),  # 23:30 on Christmas Eve
        (instant(2026, 11, 11, 2), "Asia/Shanghai", "CN", "11-11", {"template": "singles"}),
        (instant(2027, 1, 10, 2), "Australia/Sydney", "AU", "summer", {"template": "summer"}),
        (instant(2027, 1, 10, 2), "Europe/Berlin", "DE", None, None),  # winter there
    ],
)
def test_rules_match_the_users_own_day(at, timezone, country, what, then) -> None:
    found = matched(RULES, day_for(at, timezone, country))
    assert (found[0], dict(found[1])) == (what, then) if what else found is None


def test_thanksgiving_only_where_the_rule_says() -> None:
    assert matched(RULES[1:2], day_for(instant(2026, 11, 26, 15), "America/Toronto", "CA")) is None


def test_dst_edges_keep_the_local_date() -> None:
    # Berlin's clocks go back at 01:00 UTC on 25 October 2026: 23:30 UTC is already the 26th there.
    assert day_for(instant(2026, 10, 25, 23, 30), "Europe/Berlin", "DE").local.isoformat() == "2026-10-26"
    # New York springs forward on 8 March 2026; 04:30 UTC on the 8th is still the 7th there (EST).
    assert day_for(instant(2026, 3, 8, 4, 30), "America/New_York", "US").local.isoformat() == "2026-03-07"


@pytest.mark.parametrize(
    ("rules", "path"),
    [
        ([{"on": {"holiday": "x", "season": "winter"}, "then": {"suppress": True}}], "calendar[0].on"),
        ([{"on": {"dates": ["31/12"]}, "then": {"suppress": True}}], "calendar[0].on.dates"),
        ([{"on": {"shop_day": "prime_day"}, "then": {"suppress": True}}], "calendar[0].on.shop_day"),
        ([{"on": {"season": "monsoon"}, "then": {"suppress": True}}], "calendar[0].on.season"),
        ([{"on": {"season": "winter"}, "then": {"dance": True}}], "calendar[0].then"),
    ],
)
def test_bad_calendars_are_refused_with_the_path(rules, path) -> None:
    with pytest.raises(CalendarInvalid) as refused:
        check_rules(rules)
    assert refused.value.path == path
