"""How a user's outcome for a goal is measured: the same way in every arm.

Held-out users can never answer a push, so nothing here looks at deliveries: the
outcome is read from the user-event log (`POST /v1/events`), from the moment the
user was assigned an arm (`at`) to `at + window`, half open: an event at exactly
`at` counts, one at exactly `at + window` does not. Duplicate events are stored once
by the events API (the client's event id is unique per app), so they count once; a
late event (posted after the fact, within the events API's late window) counts when
its own `at` falls inside the window, whenever it arrived. `store/experiments.py`
computes the same in SQL; this is the reference its tests compare against.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Measure = Literal["sum", "any"]
MEASURES: tuple[Measure, ...] = ("sum", "any")


@dataclass(frozen=True, slots=True)
class Goal:
    """`sum` adds the events' `value` (an event without one adds 0); `any` is 1 if one happened."""

    event: str
    measure: Measure


@dataclass(frozen=True, slots=True)
class ObservedEvent:
    at: float
    value: float | None = None


def in_window(event_at: float, assigned_at: float, window_seconds: float) -> bool:
    return assigned_at <= event_at < assigned_at + window_seconds


def outcome(
    events: Iterable[ObservedEvent], assigned_at: float, window_seconds: float, measure: Measure
) -> float:
    """The user's outcome from their events of the goal's type (events of other types must not be given)."""
    inside = [event for event in events if in_window(event.at, assigned_at, window_seconds)]
    if measure == "any":
        return 1.0 if inside else 0.0
    return float(sum(event.value or 0.0 for event in inside))
