"""Segment rules as SQL: a condition on `users`, the same on SQLite and PostgreSQL.

`user_condition` turns a parsed, inlined rule (`domain/audience/rules.py`,
`saved.py`) into a SQLAlchemy Core condition on `users` rows, compiled at one
moment (`now`), for one app. It must select exactly the users for whom the
reference evaluator (`domain/audience/reference.py`) says yes, on both engines;
property tests hold it to that. Three things make that hold:

- every leaf is true or false, never NULL (a missing value is a non-match), so `not`
  is plain negation, as in Python;
- JSON is read per engine (SQLite's `json_type`/`json_extract`/`json_each`,
  PostgreSQL's `json_typeof`/`->`/`->>`/`json_array_elements`), a value matching only
  a value of its own JSON kind, a cast only under a `CASE` that checked the kind
  (PostgreSQL would raise on `'abc'::float8`), strings ordered by code point (`COLLATE "C"`);
- measures use the nodes' own constants with the reference's arithmetic, in its order
  (decay, day windows, activity cut-offs, the haversine term).

The conditions lean on the audience indexes: interests by (user, category), activity
by (app, last_active_at), country by (app, country), devices by (app, user).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from pushwise.domain.audience.decay import LN2, UNDERFLOW_EXPONENT
from pushwise.domain.audience.preferences import Category
from pushwise.domain.audience.rules import (
    HALF_RADIANS,
    NEGLIGIBLE_DEGREES,
    NEGLIGIBLE_WEIGHT,
    RADIANS,
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
    Tagged,
    Within,
)
from pushwise.store.json_sql import JsonAttributes, json_attributes, sql_compare
from pushwise.store.schema import (
    channel_unsubscribes,
    devices,
    user_engagement,
    user_interests,
    user_preferences,
    users,
)

# Aliased: the planner's INSERT ... SELECT reads `devices` too, and an unaliased subquery
# would correlate to that outer table instead of searching its own.
_devices = devices.alias("segment_devices")
_interests = user_interests.alias("segment_interests")
_engagement = user_engagement.alias("segment_engagement")


@dataclass(frozen=True, slots=True)
class Compiled:
    """Where and when a rule is evaluated: one app (and its categories), one moment, one engine."""

    dialect: str
    app_id: str
    now: float
    interest_half_life: float  # seconds
    categories: Mapping[str, Category] = field(default_factory=dict)


def user_condition(rule: Rule, at: Compiled) -> ColumnElement[bool]:
    """A condition on `users` rows (of any app: the caller scopes by `users.app_id`)."""
    return _Compiler(at, json_attributes(at.dialect)).condition(rule, negate=False)


def members(rule: Rule, at: Compiled) -> Select[tuple[str]]:
    """Internal ids of the app's users in the segment."""
    return select(users.c.id).where(users.c.app_id == at.app_id, user_condition(rule, at))


class _Compiler:
    def __init__(self, at: Compiled, attributes: JsonAttributes) -> None:
        self._at = at
        self._json = attributes

    def condition(self, rule: Rule, *, negate: bool) -> ColumnElement[bool]:
        """`negate` pushes a `not` down to the leaves, so each can say it in index-friendly form.

        What this returns is never negated again, so the index-friendly forms below may be NULL
        where they do not hold: under AND and OR alone, NULL selects no more than false does.
        """
        match rule:
            case AllOf(rules) | AnyOf(rules):
                conjunction = isinstance(rule, AllOf) != negate
                parts = [self.condition(child, negate=negate) for child in rules]
                if not parts:
                    return true() if conjunction else false()
                return and_(*parts) if conjunction else or_(*parts)
            case Not(child):
                return self.condition(child, negate=not negate)
            case InactiveFor():
                active = users.c.last_active_at
                cutoff = literal(rule.cutoff(self._at.now), Float)
                if negate:
                    return active > cutoff
                return or_(active.is_(None), active <= cutoff)
            case ProfileIn(name, values) if name != "locale":
                column = users.c[name]
                if negate:
                    return or_(column.is_(None), column.not_in(values))
                # A single value as `=`: SQLite's planner, without statistics, prefers it to IN.
                return column == values[0] if len(values) == 1 else column.in_(values)
            case InSegment(segment_id):
                raise ValueError(f"segment {segment_id} must be inlined before compiling")
            case _:
                leaf = self.leaf(rule)
                return not_(leaf) if negate else leaf

    def leaf(self, rule: Rule) -> ColumnElement[bool]:
        match rule:
            case AttributeCompare() | AttributeIn() | AttributeExists() | AttributeContains():
                return self._json.test(rule)
            case Tagged(tags):
                return self._json.tagged(tags)
            case InterestAbove():
                return self._interest(rule)
            case EngagementCompare():
                return self._engagement(rule)
            case NeverActive():
                return users.c.last_active_at.is_(None)
            case ProfileIn(_locale, values):
                return and_(users.c.locale.is_not(None), func.lower(users.c.locale).in_(values))
            case LocaleRange(ranges):
                return self._locale_range(ranges)
            case ProfileKnown(name):
                return users.c[name].is_not(None)
            case OnPlatform(platforms):
                return self._on_platform(platforms)
            case Within():
                return self._within(rule)
            case HasCoordinates():
                return and_(users.c.lat.is_not(None), users.c.lon.is_not(None))
            case Allows(category, channel):
                return self._allows(category, channel)
        raise TypeError(f"not a leaf: {rule!r}")

    def _interest(self, rule: InterestAbove) -> ColumnElement[bool]:
        """Affinity with no signal is 0: when 0 passes, the user is in unless a row fails.

        A stored weight is never nearer 0 than its decayed value (decay only shrinks it),
        so `weight` prefilters on the index before the exact, decayed comparison.
        """
        raw = literal(rule.raw, Float)
        now = literal(self._at.now, Float)
        at, weight = _interests.c.at, _interests.c.weight
        exponent = literal(-LN2, Float) * (now - at) / literal(self._at.interest_half_life, Float)
        factor = case((exponent < UNDERFLOW_EXPONENT, literal(0.0, Float)), else_=func.exp(exponent))
        decayed = case(
            (func.abs(weight) < NEGLIGIBLE_WEIGHT, literal(0.0, Float)),
            (at >= now, weight),
            else_=weight * factor,
        )
        zero_passes = rule.passes(0.0)
        # When 0 passes, the rows that fail are what to look for.
        passing, failing = (">=", "<") if rule.inclusive else (">", "<=")
        op = failing if zero_passes else passing
        found = exists().where(
            _interests.c.user_id == users.c.id,
            _interests.c.category == rule.category,
            sql_compare(op, weight, raw),
            sql_compare(op, decayed, raw),
        )
        return not_(found) if zero_passes else found

    def _engagement(self, rule: EngagementCompare) -> ColumnElement[bool]:
        first, only = rule.days(self._at.now)
        days = _engagement.c.day == only if only is not None else _engagement.c.day >= first
        total = (
            select(func.coalesce(func.sum(_engagement.c[rule.counter]), 0))
            .where(_engagement.c.user_id == users.c.id, days)
            .scalar_subquery()
        )
        return sql_compare(rule.op, total, literal(rule.value, Float))

    def _locale_range(self, ranges: Sequence[str]) -> ColumnElement[bool]:
        locale = func.lower(users.c.locale)
        return and_(
            users.c.locale.is_not(None),
            or_(*(or_(locale == r, func.substr(locale, 1, len(r) + 1) == r + "-") for r in ranges)),
        )

    def _on_platform(self, platforms: Sequence[str] | None) -> ColumnElement[bool]:
        conditions = [
            _devices.c.app_id == self._at.app_id,
            _devices.c.user_id == users.c.id,
            _devices.c.active,
        ]
        if platforms is not None:
            conditions.append(_devices.c.platform.in_(platforms))
        return exists().where(*conditions)

    def _within(self, rule: Within) -> ColumnElement[bool]:
        lat, lon = users.c.lat, users.c.lon
        located = and_(lat.is_not(None), lon.is_not(None))
        if rule.limit is None:
            return located
        half = literal(HALF_RADIANS, Float)
        half_lat = func.sin(_negligible_as_zero(lat - literal(rule.lat, Float)) * half)
        half_lon = func.sin(_negligible_as_zero(lon - literal(rule.lon, Float)) * half)
        cos_lat = func.cos(_negligible_as_zero(lat) * literal(RADIANS, Float))
        term = half_lat * half_lat + cos_lat * literal(rule.cos_lat, Float) * half_lon * half_lon
        return and_(located, term <= literal(rule.limit, Float))

    def _allows(self, key: str, channel: str) -> ColumnElement[bool]:
        """`preferences.allowed` with the app's category known at compile time: only the user's
        own choice and their unsubscribes are read per user."""
        category = self._at.categories.get(key)
        if category is not None and not category.carries(channel):
            return false()
        own = (
            select(user_preferences.c.allowed)
            .where(
                user_preferences.c.user_id == users.c.id,
                user_preferences.c.category == key,
                user_preferences.c.channel == channel,
            )
            .scalar_subquery()
        )
        default = true() if category is None or category.default_on else false()
        unsubscribed = exists().where(
            channel_unsubscribes.c.user_id == users.c.id, channel_unsubscribes.c.channel == channel
        )
        return and_(func.coalesce(own, default).is_(True), not_(unsubscribed))


def _negligible_as_zero(degrees: ColumnElement[float]) -> ColumnElement[float]:
    """`rules.negligible_as_zero` in SQL."""
    return case((func.abs(degrees) < NEGLIGIBLE_DEGREES, literal(0.0, Float)), else_=degrees)
