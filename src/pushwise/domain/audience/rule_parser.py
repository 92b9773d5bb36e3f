"""Reading a segment rule from JSON into the typed tree of `rules.py`, or refusing it with a path.

Every refusal names the clause (`rule.all[2].value`) and says what would be accepted
there. Limits keep a rule's SQL small: at most `MAX_CLAUSES` clauses, `MAX_DEPTH`
levels and `MAX_LIST` values in one `in`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast, get_args

from pushwise.domain.audience.countries import check_country
from pushwise.domain.audience.preferences import CATEGORY_KEY
from pushwise.domain.audience.rules import (
    COMPARISONS,
    COUNTERS,
    WINDOW_DAYS,
    AllOf,
    Allows,
    AnyOf,
    AttributeCompare,
    AttributeContains,
    AttributeExists,
    AttributeIn,
    Comparison,
    EngagementCompare,
    HasCoordinates,
    InactiveFor,
    InSegment,
    InterestAbove,
    LocaleRange,
    NeverActive,
    Not,
    OnPlatform,
    ProfileField,
    ProfileIn,
    ProfileKnown,
    Rule,
    RuleError,
    Scalar,
    Tagged,
    Window,
    Within,
    any_of,
)
from pushwise.domain.channels import DELIVERY_CHANNELS
from pushwise.domain.device_tokens import Platform
from pushwise.domain.profile_fields import check_locale, check_timezone

MAX_CLAUSES = 200
MAX_DEPTH = 12
MAX_LIST = 1000
MAX_TEXT = 1024
MAX_DAYS = 36_500
PLATFORMS: tuple[str, ...] = get_args(Platform)
# An attribute key is one top-level name; a dot is refused so nested paths stay possible later.
_ATTRIBUTE_KEY = re.compile(r'[^."\\\x00-\x1f\x7f]{1,128}')
_CATEGORY = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
_SEGMENT_ID = re.compile(r"[A-Za-z0-9_\-]{1,40}")
_FIELDS = (
    "attributes.<key>, tags, interests.<category>, engagement.<7d|30d|all>.<counter>, "
    "last_active_days, country, locale, timezone, platform, location, segment, "
    "preference.<category>.<channel>"
)


def parse_rule(raw: Any, path: str = "rule") -> Rule:
    """The typed tree of a rule given as decoded JSON; `RuleError` names what is wrong."""
    return _Parser().rule(raw, path, 1)


@dataclass
class _Parser:
    clauses: int = 0

    def rule(self, raw: Any, path: str, depth: int) -> Rule:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise RuleError(path, f"a rule has at most {MAX_CLAUSES} clauses")
        if depth > MAX_DEPTH:
            raise RuleError(path, f"a rule nests at most {MAX_DEPTH} levels deep")
        if not isinstance(raw, dict):
            raise RuleError(path, 'a rule is {"all": [...]}, {"any": [...]}, {"not": rule} or a leaf')
        if "field" in raw or "op" in raw:
            return self.leaf(raw, path)
        if len(raw) != 1 or next(iter(raw)) not in ("all", "any", "not"):
            raise RuleError(path, 'use one of "all", "any", "not", or a leaf {"field", "op", "value"}')
        ((key, value),) = raw.items()
        if key == "not":
            return Not(self.rule(value, f"{path}.not", depth + 1))
        if not isinstance(value, list):
            raise RuleError(f"{path}.{key}", f'"{key}" takes a list of rules')
        children = tuple(self.rule(item, f"{path}.{key}[{i}]", depth + 1) for i, item in enumerate(value))
        return AllOf(children) if key == "all" else AnyOf(children)

    def leaf(self, raw: dict[str, Any], path: str) -> Rule:
        unknown = sorted(set(raw) - {"field", "op", "value"})
        if unknown:
            raise RuleError(f"{path}.{unknown[0]}", 'a leaf has only "field", "op" and "value"')
        name, op = raw.get("field"), raw.get("op")
        if not isinstance(name, str):
            raise RuleError(f"{path}.field", f"name a field: one of {_FIELDS}")
        if not isinstance(op, str):
            raise RuleError(f"{path}.op", "name an operator")
        head, _, rest = name.partition(".")
        parse = _LEAVES.get(head)
        if parse is None or (bool(rest) != (head in _DOTTED)):
            raise RuleError(f"{path}.field", f"unknown field {name!r}; fields: {_FIELDS}")
        return parse(rest, op, raw.get("value", MISSING), path)


MISSING = object()  # a leaf without "value": only `exists` may leave it out (meaning true)


def _ops(path: str, op: str, allowed: tuple[str, ...], what: str, value: Any) -> None:
    if op not in allowed:
        raise RuleError(f"{path}.op", f"{what} takes the operators {', '.join(allowed)}")
    if value is MISSING and op != "exists":
        raise RuleError(f"{path}.value", f"the operator {op!r} needs a value")


def _flag(path: str, value: Any) -> bool:
    if value is MISSING:
        return True
    if not isinstance(value, bool):
        raise RuleError(f"{path}.value", "exists takes true or false (or no value: true)")
    return value


def _negated(rule: Rule, positive: bool) -> Rule:
    return rule if positive else Not(rule)


def _scalar(path: str, value: Any) -> Scalar:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise RuleError(path, "numbers must be finite")
        return number
    if isinstance(value, str):
        return _text(path, value)
    raise RuleError(path, "give a number, a string or a boolean")


def _text(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise RuleError(path, "give a string")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise RuleError(path, f"strings are at most {MAX_TEXT} characters, without NUL")
    return value


def _number(path: str, value: Any) -> float:
    scalar = _scalar(path, value)
    if isinstance(scalar, bool) or not isinstance(scalar, float):
        raise RuleError(path, "give a number")
    return scalar


def _listed(path: str, value: Any, each: Callable[[str, Any], Any]) -> list[Any]:
    if not isinstance(value, list) or not 0 < len(value) <= MAX_LIST:
        raise RuleError(path, f"in takes a list of 1 to {MAX_LIST} values")
    return [each(f"{path}[{i}]", item) for i, item in enumerate(value)]


def _attribute(key: str, op: str, value: Any, path: str) -> Rule:
    if not _ATTRIBUTE_KEY.fullmatch(key):
        raise RuleError(f"{path}.field", "an attribute key is 1-128 characters without '.', '\"', '\\'")
    _ops(path, op, (*COMPARISONS, "!=", "in", "exists", "contains"), "an attribute", value)
    at = f"{path}.value"
    if op == "exists":
        return _negated(AttributeExists(key), _flag(path, value))
    if op == "in":
        return AttributeIn(key, tuple(_listed(at, value, _scalar)))
    scalar = _scalar(at, value)
    if op == "contains":
        return AttributeContains(key, scalar)
    if op in ("=", "!="):
        return _negated(AttributeCompare(key, "=", scalar), op == "=")
    if isinstance(scalar, bool):
        raise RuleError(at, f"{op} compares numbers or strings, not booleans")
    return AttributeCompare(key, _comparison(op), scalar)


def _comparison(op: str) -> Comparison:
    assert op in COMPARISONS
    return cast(Comparison, op)


def _tags(_rest: str, op: str, value: Any, path: str) -> Rule:
    _ops(path, op, ("contains", "in", "exists"), "tags", value)
    if op == "exists":
        return _negated(Tagged(None), _flag(path, value))
    if op == "in":
        return Tagged(tuple(_listed(f"{path}.value", value, _text)))
    return Tagged((_text(f"{path}.value", value),))


def _interest(category: str, op: str, value: Any, path: str) -> Rule:
    if not _CATEGORY.fullmatch(category):
        raise RuleError(f"{path}.field", "a category is 1-64 characters")
    _ops(path, op, (">", ">=", "<", "<="), "an interest", value)
    affinity = _number(f"{path}.value", value)
    if not -1.0 < affinity < 1.0:
        raise RuleError(f"{path}.value", "an interest's affinity lies strictly between -1 and 1")
    if op in (">", ">="):
        return InterestAbove(category, affinity, inclusive=op == ">=")
    return Not(InterestAbove(category, affinity, inclusive=op == "<"))


def _engagement(rest: str, op: str, value: Any, path: str) -> Rule:
    window, _, counter = rest.partition(".")
    if window not in WINDOW_DAYS or counter not in COUNTERS:
        raise RuleError(
            f"{path}.field", f"engagement.<7d|30d|all>.<counter>, counters: {', '.join(COUNTERS)}"
        )
    _ops(path, op, (*COMPARISONS, "!="), "engagement", value)
    number = _number(f"{path}.value", value)
    if op == "!=":
        return Not(EngagementCompare(cast(Window, window), counter, "=", number))
    return EngagementCompare(cast(Window, window), counter, _comparison(op), number)


def _days(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise RuleError(path, "give a whole number of days")
    if not 0 <= value <= MAX_DAYS:
        raise RuleError(path, f"days run from 0 to {MAX_DAYS}")
    return int(value)


def _last_active(_rest: str, op: str, value: Any, path: str) -> Rule:
    _ops(path, op, (*COMPARISONS, "!=", "in", "exists"), "last_active_days", value)
    if op == "exists":
        return _negated(NeverActive(), not _flag(path, value))
    if op == "in":
        return any_of([_exactly(days) for days in _listed(f"{path}.value", value, _days)])
    days = _days(f"{path}.value", value)
    match op:
        case ">=":
            return InactiveFor(days)
        case ">":
            return InactiveFor(days + 1)
        case "<":
            return Not(InactiveFor(days))
        case "<=":
            return Not(InactiveFor(days + 1))
        case "=":
            return _exactly(days)
    return Not(_exactly(days))


def _exactly(days: int) -> Rule:
    return AllOf((InactiveFor(days), Not(InactiveFor(days + 1))))


_CHECKS: dict[str, Callable[[str], str]] = {
    "country": check_country,
    "timezone": check_timezone,
    "locale": lambda tag: check_locale(tag).lower(),
}


def _profile(name: ProfileField) -> Callable[[str, str, Any, str], Rule]:
    def parse(_rest: str, op: str, value: Any, path: str) -> Rule:
        extra = ("prefix",) if name == "locale" else ()
        _ops(path, op, ("=", "!=", "in", "exists", *extra), name, value)
        if op == "exists":
            return _negated(ProfileKnown(name), _flag(path, value))

        def checked(at: str, item: Any) -> str:
            try:
                return _CHECKS[name](_text(at, item))
            except RuleError:
                raise
            except ValueError as error:
                raise RuleError(at, str(error)) from error

        at = f"{path}.value"
        values = _listed(at, value, checked) if op == "in" else [checked(at, value)]
        if op == "prefix":
            return LocaleRange(tuple(values))
        return _negated(ProfileIn(name, tuple(values)), op != "!=")

    return parse


def _platform(_rest: str, op: str, value: Any, path: str) -> Rule:
    _ops(path, op, ("=", "!=", "in", "exists"), "platform", value)
    if op == "exists":
        return _negated(OnPlatform(None), _flag(path, value))

    def known(at: str, item: Any) -> str:
        if item not in PLATFORMS:
            raise RuleError(at, f"platforms: {', '.join(PLATFORMS)}")
        return str(item)

    at = f"{path}.value"
    platforms = _listed(at, value, known) if op == "in" else [known(at, value)]
    return _negated(OnPlatform(tuple(platforms)), op != "!=")


def _location(_rest: str, op: str, value: Any, path: str) -> Rule:
    _ops(path, op, ("within_km", "exists"), "location", value)
    if op == "exists":
        return _negated(HasCoordinates(), _flag(path, value))
    at = f"{path}.value"
    if not isinstance(value, dict) or set(value) != {"lat", "lon", "km"}:
        raise RuleError(at, 'within_km takes {"lat", "lon", "km"}')
    lat, lon, km = (_number(f"{at}.{name}", value[name]) for name in ("lat", "lon", "km"))
    if not -90.0 <= lat <= 90.0:
        raise RuleError(f"{at}.lat", "a latitude lies from -90 to 90")
    if not -180.0 <= lon <= 180.0:
        raise RuleError(f"{at}.lon", "a longitude lies from -180 to 180")
    if km < 0.0:
        raise RuleError(f"{at}.km", "a distance is not negative")
    return Within(lat, lon, km)


def _segment(_rest: str, op: str, value: Any, path: str) -> Rule:
    _ops(path, op, ("=", "!=", "in"), "segment", value)

    def segment_id(at: str, item: Any) -> InSegment:
        if not isinstance(item, str) or not _SEGMENT_ID.fullmatch(item):
            raise RuleError(at, "give a saved segment's id")
        return InSegment(item, at)

    at = f"{path}.value"
    if op == "in":
        return any_of(_listed(at, value, segment_id))
    return _negated(segment_id(at, value), op == "=")


def _preference(rest: str, op: str, value: Any, path: str) -> Rule:
    category, _, channel = rest.rpartition(".")
    if not CATEGORY_KEY.fullmatch(category) or channel not in DELIVERY_CHANNELS:
        raise RuleError(
            f"{path}.field", f"preference.<category>.<channel>, channels: {', '.join(DELIVERY_CHANNELS)}"
        )
    _ops(path, op, ("=", "!="), "a preference", value)
    if not isinstance(value, bool):
        raise RuleError(f"{path}.value", "a preference is true (allowed) or false")
    return _negated(Allows(category, channel), value == (op == "="))


_LEAVES: dict[str, Callable[[str, str, Any, str], Rule]] = {
    "attributes": _attribute,
    "tags": _tags,
    "interests": _interest,
    "engagement": _engagement,
    "last_active_days": _last_active,
    "country": _profile("country"),
    "locale": _profile("locale"),
    "timezone": _profile("timezone"),
    "platform": _platform,
    "location": _location,
    "segment": _segment,
    "preference": _preference,
}
_DOTTED = frozenset({"attributes", "interests", "engagement", "preference"})
