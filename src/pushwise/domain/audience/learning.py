"""What a batch of new user events teaches each profile, as increments the store adds up.

Everything here is a sum (counters) or a decayed sum (interests, opens) or an extreme
(first seen, last active), so the profile after any set of events is the same
whatever order they arrived in and however they were split into batches: the
store adds each batch's deltas with the same arithmetic (`decay.py`), and the
event log stores a repeated event once, so a duplicate teaches nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.event_types import DEFAULT_INTEREST_WEIGHTS, ENGAGEMENT_COUNTERS, shows_activity

SECONDS_PER_DAY = 86_400
ALL_TIME = 0  # the engagement row that holds all-time totals


def day_of(at: float) -> int:
    """The UTC epoch day an instant falls on (engagement is counted per day)."""
    return math.floor(at / SECONDS_PER_DAY)


@dataclass(frozen=True, slots=True)
class LearningOptions:
    interest_weights: Mapping[str, float]
    interest_half_life: float  # seconds
    propensity_half_life: float  # seconds

    @classmethod
    def defaults(cls) -> LearningOptions:
        return cls(DEFAULT_INTEREST_WEIGHTS, 14 * SECONDS_PER_DAY, 30 * SECONDS_PER_DAY)


@dataclass(frozen=True, slots=True)
class LearnedEvent:
    """A new (never seen) event, its user resolved and its category known where it has one."""

    user_id: str
    type: str
    at: float
    category: str | None = None
    value: float | None = None


@dataclass(slots=True)
class Counters:
    opened: int = 0
    clicked: int = 0
    dismissed: int = 0
    converted: int = 0
    revenue: float = 0.0

    def add(self, counter: str, value: float | None) -> None:
        setattr(self, counter, getattr(self, counter) + 1)
        if counter == "converted" and value:
            self.revenue += value


@dataclass(slots=True)
class ProfileDeltas:
    interests: dict[tuple[str, str], Decayed] = field(default_factory=dict)  # (user, category)
    engagement: dict[tuple[str, int], Counters] = field(default_factory=dict)  # (user, day or ALL_TIME)
    activity: dict[str, tuple[float, float]] = field(default_factory=dict)  # user -> (first, last)
    opens: dict[str, Decayed] = field(default_factory=dict)  # user -> decayed opens

    def __bool__(self) -> bool:
        return bool(self.interests or self.engagement or self.activity or self.opens)


def learn(events: Iterable[LearnedEvent], options: LearningOptions) -> ProfileDeltas:
    deltas = ProfileDeltas()
    for event in events:
        weight = options.interest_weights.get(event.type)
        if weight and event.category:
            key = (event.user_id, event.category)
            previous = deltas.interests.get(key)
            deltas.interests[key] = (
                Decayed(weight, event.at)
                if previous is None
                else previous.plus(weight, event.at, options.interest_half_life)
            )
        counter = ENGAGEMENT_COUNTERS.get(event.type)
        if counter is not None:
            for day in (day_of(event.at), ALL_TIME):
                deltas.engagement.setdefault((event.user_id, day), Counters()).add(counter, event.value)
        if shows_activity(event.type):
            first, last = deltas.activity.get(event.user_id, (event.at, event.at))
            deltas.activity[event.user_id] = (min(first, event.at), max(last, event.at))
        if event.type == "opened":
            opened = deltas.opens.get(event.user_id)
            deltas.opens[event.user_id] = (
                Decayed(1.0, event.at)
                if opened is None
                else opened.plus(1.0, event.at, options.propensity_half_life)
            )
    return deltas


# Open propensity before any evidence: a 10% open rate (the usual range of push open
# rates across platforms, see docs/audience.md), worth ten pushes of evidence.
PRIOR_OPEN_RATE = 0.1
PRIOR_STRENGTH = 10.0


def open_propensity(opens: float, pushes: float) -> float:
    """Decayed opens over decayed pushes delivered, shrunk toward the prior when evidence is thin.

    Opens can outnumber pushes (an app reporting opens of pushes sent before pushwise
    knew the user); the result is capped at 1.
    """
    estimate = (opens + PRIOR_OPEN_RATE * PRIOR_STRENGTH) / (pushes + PRIOR_STRENGTH)
    return min(1.0, max(0.0, estimate))


def parse_weights(spec: str, defaults: Mapping[str, float]) -> dict[str, float]:
    """`"item_viewed=1,purchased=8"` over the defaults (the `interest_weights` setting)."""
    weights = dict(defaults)
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        name, sep, number = part.rpartition("=")
        if not sep or not name:
            raise ValueError(f"interest weight {part!r} is not <event type>=<number>")
        weights[name.strip()] = float(number)
    return weights


@dataclass(frozen=True, slots=True)
class AudienceOptions:
    """The audience settings, as the composition root reads them."""

    learning: LearningOptions
    late_window: float  # seconds: older events are not stored
    retention: float  # seconds: raw events are pruned after this
