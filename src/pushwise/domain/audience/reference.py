"""The reference evaluator: what a segment rule means, for one user, in plain Python.

The SQL that `store/segment_sql.py` compiles must select exactly the users for whom
`matches` is true, on SQLite and on PostgreSQL; property tests hold it to that. It
is also the specification in executable form: where docs/audience.md says how a
missing value or a type mismatch is treated, this is the code that says it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.preferences import Category, Preferences, allowed
from pushwise.domain.audience.rules import (
    AllOf,
    Allows,
    AnyOf,
    AttributeCompare,
    AttributeContains,
    AttributeExists,
    AttributeIn,
    EngagementCompare,
    HasCoordinates,
    InactiveFor,
    InSegment,
    InterestAbove,
    LocaleRange,
    NeverActive,
    Not,
    OnPlatform,
    ProfileIn,
    ProfileKnown,
    Rule,
    Scalar,
    Tagged,
    Within,
)

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Person:
    """What a rule can ask about one user."""

    attributes: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()
    country: str | None = None
    locale: str | None = None
    timezone: str | None = None
    lat: float | None = None
    lon: float | None = None
    last_active_at: float | None = None
    platforms: frozenset[str] = frozenset()  # of the user's active devices
    interests: Mapping[str, Decayed] = field(default_factory=dict)
    engagement: Mapping[int, Mapping[str, float]] = field(default_factory=dict)  # epoch day -> counters
    preferences: Mapping[tuple[str, str], bool] = field(default_factory=dict)  # (category, channel)
    unsubscribed: frozenset[str] = frozenset()  # channels


@dataclass(frozen=True)
class Moment:
    """When, and under which app settings, a rule is evaluated."""

    now: float
    interest_half_life: float  # seconds
    categories: Mapping[str, Category] = field(default_factory=dict)  # the app's, by key


def matches(rule: Rule, person: Person, moment: Moment) -> bool:
    match rule:
        case AllOf(rules):
            return all(matches(child, person, moment) for child in rules)
        case AnyOf(rules):
            return any(matches(child, person, moment) for child in rules)
        case Not(child):
            return not matches(child, person, moment)
        case InSegment(segment_id):
            raise ValueError(f"segment {segment_id} must be inlined before evaluation")
        case _:
            return _leaf(rule, person, moment)


def _leaf(rule: Rule, person: Person, moment: Moment) -> bool:
    match rule:
        case AttributeCompare() | AttributeIn() | AttributeExists() | AttributeContains():
            return _attribute(rule, person.attributes)
        case Tagged(tags):
            return bool(person.tags) if tags is None else any(tag in person.tags for tag in tags)
        case InterestAbove(category):
            found = person.interests.get(category)
            return rule.passes(rule.raw_now(found, moment.now, moment.interest_half_life) if found else 0.0)
        case EngagementCompare(_window, counter, op, value):
            return COMPARE[op](_engagement(rule, person, moment.now, counter), value)
        case InactiveFor():
            return person.last_active_at is None or person.last_active_at <= rule.cutoff(moment.now)
        case NeverActive():
            return person.last_active_at is None
        case ProfileIn(name, values):
            known = getattr(person, name)
            return known is not None and (known.lower() if name == "locale" else known) in values
        case LocaleRange(ranges):
            locale = (person.locale or "").lower()
            return person.locale is not None and any(
                locale == r or locale[: len(r) + 1] == r + "-" for r in ranges
            )
        case ProfileKnown(name):
            return getattr(person, name) is not None
        case OnPlatform(platforms):
            return bool(person.platforms) if platforms is None else bool(person.platforms & set(platforms))
        case Within():
            if person.lat is None or person.lon is None:
                return False
            return rule.limit is None or rule.term(person.lat, person.lon) <= rule.limit
        case HasCoordinates():
            return person.lat is not None and person.lon is not None
        case Allows(key, channel):
            choices = Preferences(choices=person.preferences)
            return channel not in person.unsubscribed and allowed(
                moment.categories.get(key), key, channel, choices
            )
    raise TypeError(f"not a leaf: {rule!r}")


def _engagement(rule: EngagementCompare, person: Person, now: float, counter: str) -> float:
    first, only = rule.days(now)
    if only is not None:
        return person.engagement.get(only, {}).get(counter, 0)
    return sum(row.get(counter, 0) for day, row in person.engagement.items() if day >= first)


def kind(value: Any) -> str:
    """A JSON value's kind as rules compare it: a number never equals a string or a boolean."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else "object"


def _same(stored: Any, value: Scalar, op: str = "=") -> bool:
    if kind(stored) != kind(value):
        return False
    if isinstance(value, float):
        return COMPARE[op](float(stored), value)
    return COMPARE[op](stored, value)


def _attribute(rule: Rule, attributes: Mapping[str, Any]) -> bool:
    match rule:
        case AttributeExists(key):
            return attributes.get(key) is not None
        case AttributeCompare(key, op, value):
            return key in attributes and _same(attributes[key], value, op)
        case AttributeIn(key, values):
            return key in attributes and any(_same(attributes[key], value) for value in values)
        case AttributeContains(key, value):
            stored = attributes.get(key)
            if isinstance(stored, str) and isinstance(value, str):
                return value in stored
            return isinstance(stored, list) and any(_same(element, value) for element in stored)
    raise TypeError(f"not an attribute test: {rule!r}")
