"""Segment rules: the JSON language senders target users with, as a small typed tree.

A rule is `{"all": [...]}`, `{"any": [...]}`, `{"not": rule}` or a leaf
`{"field", "op", "value"}` (docs/audience.md lists the fields and operators). It is
parsed once, here, into the nodes below; the reference evaluator (`reference.py`)
and the SQL compiler (`store/segment_sql.py`) both walk the same tree, so they
cannot disagree on what a rule says. Parsing normalises: `!=` becomes `not =`, `<`
on an interest becomes `not >=`, a day count becomes "inactive for at least N
days", so each consumer handles few shapes. Anything else is refused with a
`RuleError` naming the path of the bad clause (`rule.all[2].value`).

The measures both consumers compute (decay, windows, cut-offs, distances) are the
nodes' own methods, with the same arithmetic in the same order as the SQL, so the
database and the reference agree to the last bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.interests import raw_for_affinity

Scalar = str | float | bool
Comparison = Literal["=", "<", "<=", ">", ">="]
ProfileField = Literal["country", "locale", "timezone"]
Window = Literal["7d", "30d", "all"]

DAY_SECONDS = 86_400.0
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
COUNTERS = ("sent", "delivered", "opened", "clicked", "dismissed", "converted", "revenue")
WINDOW_DAYS: dict[str, int | None] = {"7d": 7, "30d": 30, "all": None}


class RuleError(ValueError):
    """A rule that cannot be used; `path` names the clause (`rule.all[2].value`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class AllOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Not:
    rule: Rule


@dataclass(frozen=True, slots=True)
class AttributeCompare:
    """A top-level attribute compared with a value of its own JSON kind (else false)."""

    key: str
    op: Comparison
    value: Scalar


@dataclass(frozen=True, slots=True)
class AttributeIn:
    key: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class AttributeExists:
    """Present and not JSON null."""

    key: str


@dataclass(frozen=True, slots=True)
class AttributeContains:
    """A string attribute containing the value, or an array attribute with it as an element."""

    key: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class Tagged:
    """Has one of `tags`; `None`: has any tag at all."""

    tags: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class InterestAbove:
    """Affinity in the category above (or from) `affinity`; a user with no signal has affinity 0.

    Compared on the raw weight (`raw`), which the affinity map turns monotonically into
    affinity, so the database needs only the decay.
    """

    category: str
    affinity: float
    inclusive: bool

    @property
    def raw(self) -> float:
        return raw_for_affinity(self.affinity)

    def passes(self, raw_now: float) -> bool:
        return raw_now >= self.raw if self.inclusive else raw_now > self.raw

    @staticmethod
    def raw_now(stored: Decayed, now: float, half_life: float) -> float:
        """The stored weight decayed to now, a negligible one (under `NEGLIGIBLE_WEIGHT`) as 0.

        With the decay's own floor this keeps `weight * factor` clear of underflow, which
        PostgreSQL refuses with an error where C rounds to 0.
        """
        return 0.0 if abs(stored.value) < NEGLIGIBLE_WEIGHT else stored.worth(now, half_life)


NEGLIGIBLE_WEIGHT = 1e-150


@dataclass(frozen=True, slots=True)
class EngagementCompare:
    window: Window
    counter: str
    op: Comparison
    value: float

    def days(self, now: float) -> tuple[int, int | None]:
        """The epoch days summed: (first, None) for a recent window, (0, 0) for the all-time row."""
        span = WINDOW_DAYS[self.window]
        if span is None:
            return 0, 0
        today = math.floor(now / DAY_SECONDS)
        return max(today - span + 1, 1), None


@dataclass(frozen=True, slots=True)
class InactiveFor:
    """Never active, or last active at least `days` whole days (86,400 s periods) before now."""

    days: int

    def cutoff(self, now: float) -> float:
        return now - self.days * DAY_SECONDS


@dataclass(frozen=True, slots=True)
class NeverActive:
    pass


@dataclass(frozen=True, slots=True)
class ProfileIn:
    """Country, locale or time zone is one of `values` (locales compare lower-cased)."""

    field: ProfileField
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LocaleRange:
    """The locale is one of `ranges` or a more specific tag of one (`zh` covers `zh-Hant-TW`)."""

    ranges: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProfileKnown:
    field: ProfileField


@dataclass(frozen=True, slots=True)
class OnPlatform:
    """Has an active device on one of `platforms`; `None`: on any."""

    platforms: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Within:
    """Coordinates within `km` of a point, by the haversine formula.

    Compared as `haversine term <= limit` rather than as a distance, so neither side
    needs `asin` or `sqrt`; `limit` is None when the circle covers the whole globe.
    """

    lat: float
    lon: float
    km: float

    @property
    def limit(self) -> float | None:
        angle = self.km / (2.0 * EARTH_RADIUS_KM)
        return None if angle >= math.pi / 2.0 else math.sin(angle) ** 2

    @property
    def cos_lat(self) -> float:
        return math.cos(negligible_as_zero(self.lat) * RADIANS)

    def term(self, lat: float, lon: float) -> float:
        """The haversine term, spelled as `store/segment_sql.py` spells it.

        Angles under `NEGLIGIBLE_DEGREES` count as 0, so no product can underflow: PostgreSQL
        raises an error where a product of non-zero numbers rounds to 0.
        """
        half_lat = math.sin(negligible_as_zero(lat - self.lat) * HALF_RADIANS)
        half_lon = math.sin(negligible_as_zero(lon - self.lon) * HALF_RADIANS)
        return (
            half_lat * half_lat
            + math.cos(negligible_as_zero(lat) * RADIANS) * self.cos_lat * half_lon * half_lon
        )


RADIANS = math.pi / 180.0
HALF_RADIANS = math.pi / 360.0
NEGLIGIBLE_DEGREES = 1e-100


def negligible_as_zero(degrees: float) -> float:
    return 0.0 if abs(degrees) < NEGLIGIBLE_DEGREES else degrees


@dataclass(frozen=True, slots=True)
class HasCoordinates:
    pass


@dataclass(frozen=True, slots=True)
class InSegment:
    """Membership of a saved segment; replaced by that segment's rule before use (`saved.py`)."""

    segment_id: str
    path: str


@dataclass(frozen=True, slots=True)
class Allows:
    """The user would get `category` on `channel`, as the gate decides it for marketing sends
    (`preferences.allowed`): never on a channel the category does not use or the user unsubscribed
    from; else their own choice, else the category's default (one the app never declared: allowed)."""

    category: str
    channel: str


Rule = (
    AllOf
    | AnyOf
    | Not
    | AttributeCompare
    | AttributeIn
    | AttributeExists
    | AttributeContains
    | Tagged
    | InterestAbove
    | EngagementCompare
    | InactiveFor
    | NeverActive
    | ProfileIn
    | LocaleRange
    | ProfileKnown
    | OnPlatform
    | Within
    | HasCoordinates
    | InSegment
    | Allows
)

COMPARISONS: tuple[str, ...] = get_args(Comparison)
PROFILE_FIELDS: tuple[str, ...] = get_args(ProfileField)


def any_of(rules: list[Rule]) -> Rule:
    return rules[0] if len(rules) == 1 else AnyOf(tuple(rules))


def segment_ids(rule: Rule) -> list[InSegment]:
    """The saved segments a rule names, in order."""
    match rule:
        case AllOf(rules) | AnyOf(rules):
            return [found for child in rules for found in segment_ids(child)]
        case Not(child):
            return segment_ids(child)
        case InSegment():
            return [rule]
        case _:
            return []
