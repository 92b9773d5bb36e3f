"""What a user said they want: per category and channel, per channel overall, and when.

An app defines its categories (key, default on or off, the channels it may use). A user's
own choice for a (category, channel) beats the category's default; a user who never chose
gets the default. A global unsubscribe of a channel is apart from categories: it stops the
whole channel. The gate (`pushwise.domain.gate`) applies these rules before every send;
the preference API and the hosted page show the same values through `effective_choices`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pushwise.domain.channels import DELIVERY_CHANNELS

TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")  # HH:MM, a wall-clock time
# Short enough that a reason naming it (`opted_out:<key>`) fits a delivery's 64-character reason.
CATEGORY_KEY_MAX = 40
CATEGORY_KEY = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{CATEGORY_KEY_MAX - 1}}}$")

Cell = tuple[str, str]  # (category, channel)


@dataclass(frozen=True, slots=True)
class Category:
    """An app's kind of message. `channels` None: every channel may carry it."""

    key: str
    name: str
    default_on: bool = True
    channels: tuple[str, ...] | None = None
    description: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    def carries(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels

    def offered_channels(self) -> tuple[str, ...]:
        """The channels a user can choose for this category."""
        return self.channels if self.channels is not None else DELIVERY_CHANNELS


@dataclass(frozen=True, slots=True)
class QuietHours:
    """The user's own quiet hours, local wall-clock times ("22:00" to "08:00" spans midnight)."""

    start: str
    end: str

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start, "end": self.end}

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> QuietHours | None:
        return cls(str(raw["start"]), str(raw["end"])) if raw else None


@dataclass(frozen=True, slots=True)
class Preferences:
    """One user's stored choices: explicit cells only; anything missing follows the category."""

    choices: Mapping[Cell, bool] = field(default_factory=dict)
    unsubscribed: frozenset[str] = frozenset()
    quiet_hours: QuietHours | None = None


NO_PREFERENCES = Preferences()


def allowed(category: Category | None, key: str, channel: str, preferences: Preferences) -> bool:
    """Whether the user wants `key` messages on `channel` (the category rule and their choice).

    A choice stored for a category the app no longer defines still counts: what a person
    said no to stays no.
    """
    if category is not None and not category.carries(channel):
        return False
    chosen = preferences.choices.get((key, channel))
    if chosen is not None:
        return chosen
    return category.default_on if category is not None else True


def effective_choices(categories: Iterable[Category], preferences: Preferences) -> dict[str, dict[str, bool]]:
    """What the user gets, per category and each channel it offers; stray stored choices included."""
    grid: dict[str, dict[str, bool]] = {}
    for category in categories:
        grid[category.key] = {
            channel: allowed(category, category.key, channel, preferences)
            for channel in category.offered_channels()
        }
    for (key, channel), chosen in sorted(preferences.choices.items()):
        if key not in grid:
            grid.setdefault(key, {})[channel] = chosen
    return grid


class PreferenceRefused(ValueError):
    """A change that names what the app does not define; `field` is the API path of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class PreferenceChange:
    """A partial update: cells to set (None: back to the default), and optionally the new
    set of unsubscribed channels and the new quiet hours."""

    cells: Mapping[Cell, bool | None] = field(default_factory=dict)
    unsubscribed: frozenset[str] | None = None
    quiet_hours: QuietHours | None = None
    sets_quiet_hours: bool = False


def check_change(change: PreferenceChange, categories: Mapping[str, Category]) -> None:
    """Refuse cells of categories the app does not define, or on channels the category does not use."""
    for key, channel in change.cells:
        category = categories.get(key)
        if category is None:
            raise PreferenceRefused(f"categories.{key}", f"the app has no category {key!r}")
        if channel not in DELIVERY_CHANNELS:
            raise PreferenceRefused(f"categories.{key}.{channel}", f"{channel!r} is not a channel")
        if not category.carries(channel):
            raise PreferenceRefused(
                f"categories.{key}.{channel}", f"category {key!r} is not sent by {channel}"
            )


def check_channel(name: str) -> str:
    """For validators: a known delivery channel, else a ValueError naming the known ones."""
    if name not in DELIVERY_CHANNELS:
        raise ValueError(f"{name!r} is not a channel; known: {', '.join(DELIVERY_CHANNELS)}")
    return name
