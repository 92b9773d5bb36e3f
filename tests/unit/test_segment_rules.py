"""Parsing segment rules: what is accepted and how it is normalised, what is refused and where.

Also the parser and compiler fuzzed with any JSON (issue 14): a rule is either refused
with a `RuleError` naming a path, or compiles to SQL for both engines.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from pushwise.domain.audience.rule_parser import MAX_CLAUSES, MAX_DEPTH, parse_rule
from pushwise.domain.audience.rules import (
    AllOf,
    AnyOf,
    AttributeCompare,
    InactiveFor,
    InSegment,
    InterestAbove,
    LocaleRange,
    NeverActive,
    Not,
    ProfileIn,
    RuleError,
    Tagged,
)
from pushwise.store.segment_sql import Compiled, members

OK = {"field": "country", "op": "=", "value": "DE"}


def test_a_rule_is_normalised_into_few_shapes() -> None:
    rule = parse_rule(
        {
            "all": [
                {"field": "country", "op": "!=", "value": "de"},
                {"field": "interests.shoes", "op": "<", "value": 0.3},
                {"field": "last_active_days", "op": "<=", "value": 7},
                {"field": "attributes.plan", "op": "=", "value": 2},
                {"field": "locale", "op": "in", "value": ["zh_CN", "EN"]},
                {"any": [{"field": "tags", "op": "exists"}, {"field": "last_active_days", "op": "exists"}]},
                {"field": "segment", "op": "=", "value": "seg_1"},
            ]
        }
    )
    assert rule == AllOf(
        (
            Not(ProfileIn("country", ("DE",))),
            Not(InterestAbove("shoes", 0.3, inclusive=True)),
            Not(InactiveFor(8)),
            AttributeCompare("plan", "=", 2.0),
            ProfileIn("locale", ("zh-cn", "en")),
            AnyOf((Tagged(None), Not(NeverActive()))),
            InSegment("seg_1", "rule.all[6].value"),
        )
    )


def test_locale_prefix_and_empty_lists() -> None:
    assert parse_rule({"field": "locale", "op": "prefix", "value": "zh-Hant"}) == LocaleRange(("zh-hant",))
    assert parse_rule({"all": []}) == AllOf(())
    assert parse_rule({"any": []}) == AnyOf(())


_DEEP: dict[str, Any] = OK
for _ in range(MAX_DEPTH):
    _DEEP = {"not": _DEEP}

REFUSED: list[tuple[Any, str]] = [
    ([OK], "rule"),
    ({"all": [OK, OK, {"field": "country", "op": "=", "value": "XX"}]}, "rule.all[2].value"),
    ({"any": OK}, "rule.any"),
    ({"not": 5}, "rule.not"),
    ({"all": [], "any": []}, "rule"),
    ({"every": []}, "rule"),
    ({**OK, "extra": 1}, "rule.extra"),
    ({"field": "colour", "op": "=", "value": "red"}, "rule.field"),
    ({"field": "attributes", "op": "=", "value": 1}, "rule.field"),
    ({"field": "attributes.a.b", "op": "=", "value": 1}, "rule.field"),
    ({"field": 'attributes.a"b', "op": "=", "value": 1}, "rule.field"),
    ({"field": "tags.x", "op": "contains", "value": "a"}, "rule.field"),
    ({"field": "country", "op": "<", "value": "DE"}, "rule.op"),
    ({"field": "country"}, "rule.op"),
    ({"field": "country", "op": "="}, "rule.value"),
    ({"field": "country", "op": "in", "value": []}, "rule.value"),
    ({"field": "country", "op": "in", "value": ["DE", 5]}, "rule.value[1]"),
    ({"field": "timezone", "op": "=", "value": "Mars/Olympus"}, "rule.value"),
    ({"field": "locale", "op": "=", "value": "not a locale"}, "rule.value"),
    ({"field": "location", "op": "within_km", "value": {"lat": 91, "lon": 0, "km": 1}}, "rule.value.lat"),
    ({"field": "location", "op": "within_km", "value": {"lat": 0, "lon": 0, "km": -1}}, "rule.value.km"),
    ({"field": "location", "op": "within_km", "value": {"lat": 0, "lon": 0}}, "rule.value"),
    ({"field": "interests.shoes", "op": ">", "value": 1.0}, "rule.value"),
    ({"field": "interests.shoes", "op": "=", "value": 0.5}, "rule.op"),
    ({"field": "engagement.1d.opened", "op": ">", "value": 0}, "rule.field"),
    ({"field": "engagement.7d.likes", "op": ">", "value": 0}, "rule.field"),
    ({"field": "engagement.7d.opened", "op": ">", "value": "many"}, "rule.value"),
    ({"field": "last_active_days", "op": "<", "value": 2.5}, "rule.value"),
    ({"field": "last_active_days", "op": "<", "value": -1}, "rule.value"),
    ({"field": "attributes.vip", "op": "<", "value": True}, "rule.value"),
    ({"field": "attributes.name", "op": "=", "value": "a\x00b"}, "rule.value"),
    ({"field": "attributes.name", "op": "=", "value": {"nested": 1}}, "rule.value"),
    ({"field": "tags", "op": "exists", "value": "yes"}, "rule.value"),
    ({"field": "platform", "op": "=", "value": "windows"}, "rule.value"),
    ({"field": "segment", "op": "=", "value": "seg 1; drop"}, "rule.value"),
    ({"field": "preference.promotions.pigeon", "op": "=", "value": True}, "rule.field"),
    ({"field": "preference.promotions.email", "op": "=", "value": "on"}, "rule.value"),
    ({"all": [OK, {"any": [OK, {"not": {"field": "tags", "op": "?"}}]}]}, "rule.all[1].any[1].not.op"),
    (_DEEP, "rule" + ".not" * MAX_DEPTH),
    ({"any": [OK] * MAX_CLAUSES}, f"rule.any[{MAX_CLAUSES - 1}]"),
]


@pytest.mark.parametrize(("raw", "path"), REFUSED, ids=[path for _, path in REFUSED])
def test_a_bad_clause_is_refused_with_its_path(raw: Any, path: str) -> None:
    with pytest.raises(RuleError) as refused:
        parse_rule(raw)
    assert refused.value.path == path
    assert refused.value.message


def test_paths_start_where_the_rule_sits_in_the_request() -> None:
    with pytest.raises(RuleError) as refused:
        parse_rule({"not": {"field": "tags", "op": "="}}, "to.segment.rule")
    assert refused.value.path == "to.segment.rule.not.op"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_keys = st.sampled_from(("all", "any", "not", "field", "op", "value"))
_shaped = st.recursive(
    _json,
    lambda inner: st.dictionaries(_keys, inner, max_size=3) | st.lists(inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400)
@given(raw=_shaped)
def test_any_json_parses_or_is_refused_with_a_path(raw: Any) -> None:
    try:
        rule = parse_rule(raw)
    except RuleError as error:
        assert error.path.startswith("rule")  # noqa: PT017 - the refusal is the expected outcome
        return
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert str(members(rule, Compiled(dialect.name, "app_1", 1.8e9, 1.2e6)).compile(dialect=dialect))
