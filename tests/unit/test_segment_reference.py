"""What a segment rule means (the reference evaluator), and saved segments put in place.

The SQL is held to this evaluator elsewhere (tests/integration/test_segment_sql.py);
here are the meanings docs/audience.md promises, and the laws that tie operators
together (`!=` is `not =`, `<` is `not >=`, ...).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.preferences import Category
from pushwise.domain.audience.reference import Moment, Person, matches
from pushwise.domain.audience.rule_parser import parse_rule
from pushwise.domain.audience.rules import EARTH_RADIUS_KM, Rule, RuleError, Within
from pushwise.domain.audience.saved import MAX_EXPANSIONS, inline
from tests.segment_strategies import DAY, HALF_LIFE, NOW, TODAY, app_categories, leaves, persons

MOMENT = Moment(
    NOW,
    HALF_LIFE,
    {
        "promotions": Category("promotions", "Promotions", default_on=False),
        "news": Category("news", "News", channels=("email", "apns")),
    },
)


def selects(raw: dict[str, Any], person: Person, moment: Moment = MOMENT) -> bool:
    return matches(parse_rule(raw), person, moment)


@pytest.mark.parametrize(
    ("raw", "person", "expected"),
    [
        # a missing value matches nothing but its negation
        ({"field": "attributes.plan", "op": "=", "value": "pro"}, Person(), False),
        ({"field": "attributes.plan", "op": "!=", "value": "pro"}, Person(), True),
        ({"field": "attributes.age", "op": "<", "value": 30}, Person(), False),
        # values compare only with their own JSON kind
        ({"field": "attributes.age", "op": "=", "value": 3}, Person(attributes={"age": "3"}), False),
        ({"field": "attributes.age", "op": "=", "value": 3}, Person(attributes={"age": 3.0}), True),
        ({"field": "attributes.vip", "op": "=", "value": True}, Person(attributes={"vip": 1}), False),
        ({"field": "attributes.name", "op": "<", "value": "b"}, Person(attributes={"name": "B"}), True),
        ({"field": "attributes.name", "op": "<", "value": "b"}, Person(attributes={"name": "é"}), False),
        ({"field": "attributes.x", "op": "exists"}, Person(attributes={"x": None}), False),
        ({"field": "attributes.x", "op": "exists", "value": False}, Person(attributes={"x": None}), True),
        (
            {"field": "attributes.name", "op": "contains", "value": "ob"},
            Person(attributes={"name": "bob"}),
            True,
        ),
        (
            {"field": "attributes.list", "op": "contains", "value": 2},
            Person(attributes={"list": [1, 2.0]}),
            True,
        ),
        (
            {"field": "attributes.list", "op": "contains", "value": "2"},
            Person(attributes={"list": [2]}),
            False,
        ),
        ({"field": "attributes.n", "op": "in", "value": ["1", 1]}, Person(attributes={"n": 1}), True),
        # interests: affinity of the decayed weight; no signal is 0
        ({"field": "interests.shoes", "op": ">", "value": 0.3}, Person(), False),
        ({"field": "interests.shoes", "op": "<", "value": 0.3}, Person(), True),
        (
            {"field": "interests.shoes", "op": ">=", "value": 0.5},
            Person(interests={"shoes": Decayed(8.0, NOW - HALF_LIFE)}),  # 8 halves to 4: affinity 0.5
            True,
        ),
        (
            {"field": "interests.shoes", "op": ">", "value": 0.5},
            Person(interests={"shoes": Decayed(8.0, NOW - HALF_LIFE)}),
            False,
        ),
        # engagement windows: 7d is today and the 6 days before; all time is day 0's row
        (
            {"field": "engagement.7d.opened", "op": ">", "value": 0},
            Person(engagement={TODAY - 6: {"opened": 1}}),
            True,
        ),
        (
            {"field": "engagement.7d.opened", "op": ">", "value": 0},
            Person(engagement={TODAY - 7: {"opened": 1}}),
            False,
        ),
        (
            {"field": "engagement.30d.opened", "op": ">", "value": 0},
            Person(engagement={TODAY - 7: {"opened": 1}}),
            True,
        ),
        (
            {"field": "engagement.all.clicked", "op": "=", "value": 0},
            Person(engagement={TODAY: {"clicked": 4}}),
            True,
        ),
        (
            {"field": "engagement.all.revenue", "op": ">=", "value": 9.5},
            Person(engagement={0: {"revenue": 9.5}}),
            True,
        ),
        # never active: infinitely long ago
        ({"field": "last_active_days", "op": ">", "value": 30}, Person(), True),
        ({"field": "last_active_days", "op": "<", "value": 30}, Person(), False),
        ({"field": "last_active_days", "op": "=", "value": 2}, Person(last_active_at=NOW - 2.5 * DAY), True),
        ({"field": "last_active_days", "op": "=", "value": 2}, Person(last_active_at=NOW - 3 * DAY), False),
        # locales compare case-insensitively; a prefix stops at a subtag boundary
        ({"field": "locale", "op": "=", "value": "zh-TW"}, Person(locale="zh-tw"), True),
        ({"field": "locale", "op": "prefix", "value": "zh"}, Person(locale="zh-Hant-TW"), True),
        ({"field": "locale", "op": "prefix", "value": "zh"}, Person(locale="zha"), False),
        ({"field": "country", "op": "in", "value": ["de", "fr"]}, Person(country="FR"), True),
        ({"field": "platform", "op": "=", "value": "ios"}, Person(platforms=frozenset({"android"})), False),
        ({"field": "platform", "op": "exists"}, Person(platforms=frozenset({"web"})), True),
        ({"field": "tags", "op": "in", "value": ["a", "b"]}, Person(tags=("b",)), True),
        ({"field": "tags", "op": "exists", "value": False}, Person(tags=()), True),
        # preferences: the user's own choice, else the category's default, else allowed
        ({"field": "preference.promotions.email", "op": "=", "value": True}, Person(), False),
        ({"field": "preference.news.email", "op": "=", "value": True}, Person(), True),
        ({"field": "preference.undeclared.email", "op": "=", "value": True}, Person(), True),
        (
            {"field": "preference.promotions.email", "op": "=", "value": True},
            Person(preferences={("promotions", "email"): True}),
            True,
        ),
        (
            {"field": "preference.news.email", "op": "=", "value": True},
            Person(unsubscribed=frozenset({"email"})),
            False,
        ),
        (
            {"field": "preference.news.apns", "op": "=", "value": True},
            Person(unsubscribed=frozenset({"email"})),
            True,
        ),
        # ...and never on a channel the category does not use, whatever the user chose
        (
            {"field": "preference.news.fcm", "op": "=", "value": True},
            Person(preferences={("news", "fcm"): True}),
            False,
        ),
        # location: within the circle, by great-circle distance; no coordinates: not within
        (
            {"field": "location", "op": "within_km", "value": {"lat": 52.52, "lon": 13.405, "km": 260}},
            Person(lat=53.551, lon=9.994),  # Hamburg, about 255 km from Berlin
            True,
        ),
        (
            {"field": "location", "op": "within_km", "value": {"lat": 52.52, "lon": 13.405, "km": 250}},
            Person(lat=53.551, lon=9.994),
            False,
        ),
        (
            {"field": "location", "op": "within_km", "value": {"lat": 0, "lon": 0, "km": 30000}},
            Person(),
            False,
        ),
    ],
)
def test_what_a_clause_means(raw: dict[str, Any], person: Person, expected: bool) -> None:
    assert selects(raw, person) is expected


_OPPOSITES = [("=", "!="), ("<", ">="), (">", "<=")]


@settings(max_examples=300)
@given(person=persons(), leaf=leaves, declared=app_categories)
def test_each_operator_is_the_negation_of_its_opposite(
    person: Person, leaf: dict[str, Any], declared: dict[str, Category]
) -> None:
    """Orderings of attributes excepted: a missing attribute is neither below nor above a value."""
    moment = Moment(NOW, HALF_LIFE, declared)
    ordered_attribute = leaf["field"].startswith("attributes.") and leaf["op"] not in ("=", "!=")
    for one, other in _OPPOSITES:
        for op, opposite in ((one, other), (other, one)):
            if leaf["op"] != op or ordered_attribute:
                continue
            try:
                flipped = parse_rule({**leaf, "op": opposite})
            except RuleError:
                continue  # the field has no such operator
            assert matches(flipped, person, moment) is not matches(parse_rule(leaf), person, moment)
    assert selects({"not": leaf}, person, moment) is not selects(leaf, person, moment)


@settings(max_examples=200)
@given(person=persons(), a=leaves, b=leaves)
def test_all_and_any_combine_as_and_and_or(person: Person, a: dict[str, Any], b: dict[str, Any]) -> None:
    assert selects({"all": [a, b]}, person) == (selects(a, person) and selects(b, person))
    assert selects({"any": [a, b]}, person) == (selects(a, person) or selects(b, person))


@settings(max_examples=300)
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    center_lat=st.floats(-90, 90),
    center_lon=st.floats(-180, 180),
)
def test_within_agrees_with_the_great_circle_distance(
    lat: float, lon: float, center_lat: float, center_lon: float
) -> None:
    circle = Within(center_lat, center_lon, 1.0)
    distance = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, circle.term(lat, lon))))
    for km in (distance * 0.999 - 1e-6, distance * 1.001 + 1e-6):
        if km < 0.0:
            continue
        inside = Within(center_lat, center_lon, km)
        expected = km >= distance
        assert (inside.limit is None or inside.term(lat, lon) <= inside.limit) is expected


# --- saved segments put in place ---

GERMANS = parse_rule({"field": "country", "op": "=", "value": "DE"})


def _named(segment_id: str, path: str = "rule") -> Rule:
    return parse_rule({"field": "segment", "op": "=", "value": segment_id}, path)


def test_a_saved_segment_is_put_in_place() -> None:
    rule = parse_rule({"not": {"field": "segment", "op": "in", "value": ["seg_de", "seg_de2"]}})
    inlined = inline(rule, {"seg_de": GERMANS, "seg_de2": _named("seg_de")})
    assert matches(inlined, Person(country="FR"), MOMENT)
    assert not matches(inlined, Person(country="DE"), MOMENT)


@pytest.mark.parametrize(
    ("saved", "own_id", "message"),
    [
        ({}, None, "no saved segment 'seg_a'"),
        ({"seg_a": _named("seg_gone")}, None, "named by segment seg_a"),
        ({"seg_a": _named("seg_a")}, None, "seg_a -> seg_a"),
        (
            {"seg_a": _named("seg_b"), "seg_b": _named("seg_me")},
            "seg_me",
            "seg_me -> seg_a -> seg_b -> seg_me",
        ),
    ],
)
def test_unknown_and_circular_segments_are_refused_where_the_rule_names_them(
    saved: dict[str, Rule], own_id: str | None, message: str
) -> None:
    rule = parse_rule(
        {"all": [{"field": "tags", "op": "exists"}, {"field": "segment", "op": "=", "value": "seg_a"}]}
    )
    with pytest.raises(RuleError) as refused:
        inline(rule, saved, own_id=own_id)
    assert refused.value.path == "rule.all[1].value"
    assert message in refused.value.message


def _fan_out(segment_id: str) -> Rule:
    return parse_rule({"all": [{"field": "segment", "op": "=", "value": segment_id}] * 3})


def test_a_rule_pulls_in_a_bounded_number_of_saved_rules() -> None:
    rule = _fan_out("seg_a")
    two_levels = {"seg_a": _fan_out("seg_b"), "seg_b": GERMANS}  # 3 + 9 saved rules pulled in
    assert matches(inline(rule, two_levels), Person(country="DE"), MOMENT)
    three_levels = {**two_levels, "seg_b": _fan_out("seg_c"), "seg_c": GERMANS}  # 3 + 9 + 27
    with pytest.raises(RuleError, match=f"at most {MAX_EXPANSIONS}"):
        inline(rule, three_levels)
