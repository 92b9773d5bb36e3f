"""The hosted preference page: what it shows a user, and the change a submitted form asks for.

The page shows the channels that concern this user (those a category names, those the user
can be reached on, and those they switched off), not every channel pushwise knows. A form
lists the cells it showed, so a category or channel added meanwhile is left as it was, and
only cells whose value changed are stored: a user who saves the page unchanged keeps
following the app's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pushwise.domain.audience.preferences import (
    TIME_OF_DAY,
    Category,
    Cell,
    PreferenceChange,
    Preferences,
    QuietHours,
    effective_choices,
)
from pushwise.domain.channels import DELIVERY_CHANNELS

_TIME_LENGTH = 5  # HH:MM


@dataclass(frozen=True, slots=True)
class PageCell:
    channel: str
    offered: bool
    on: bool

    def value(self, key: str) -> str:
        return f"{key}:{self.channel}"


@dataclass(frozen=True, slots=True)
class PageRow:
    key: str
    name: str
    description: str | None
    cells: tuple[PageCell, ...]


@dataclass(frozen=True, slots=True)
class PageView:
    columns: tuple[str, ...]
    rows: tuple[PageRow, ...]
    unsubscribed: frozenset[str]
    quiet_hours: QuietHours | None

    @property
    def shown_cells(self) -> str:
        return ",".join(cell.value(row.key) for row in self.rows for cell in row.cells if cell.offered)


class FormRefused(ValueError):
    """What the user typed cannot be stored (the page says why with `PageWords.both_times`)."""


def page_view(categories: Sequence[Category], preferences: Preferences, reachable: Iterable[str]) -> PageView:
    named = {c for category in categories for c in category.channels or ()}
    concerned = named | set(reachable) | preferences.unsubscribed
    columns = tuple(channel for channel in DELIVERY_CHANNELS if channel in concerned)
    grid = effective_choices(categories, preferences)
    rows = tuple(
        PageRow(
            category.key,
            category.name,
            category.description,
            tuple(
                PageCell(channel, category.carries(channel), grid[category.key].get(channel, False))
                for channel in columns
            ),
        )
        for category in categories
    )
    return PageView(columns, rows, preferences.unsubscribed, preferences.quiet_hours)


def change_from_form(form: Mapping[str, list[str]], current: PageView) -> PreferenceChange:
    """The change a submitted form asks for, relative to what the page shows now."""
    shown = set(_listed(form, "shown_cells")) & {
        (row.key, cell.channel) for row in current.rows for cell in row.cells if cell.offered
    }
    checked = {_cell(value) for value in form.get("cell", [])}
    now_on = {(row.key, cell.channel): cell.on for row in current.rows for cell in row.cells}
    cells: dict[Cell, bool | None] = {
        cell: cell in checked for cell in shown if (cell in checked) != now_on.get(cell)
    }
    shown_channels = set(form.get("shown_channels", [""])[0].split(",")) & set(current.columns)
    kept_on = set(form.get("channel", []))
    unsubscribed = (current.unsubscribed - shown_channels) | (shown_channels - kept_on)
    return PreferenceChange(
        cells=cells,
        unsubscribed=frozenset(unsubscribed),
        quiet_hours=_quiet_hours(form),
        sets_quiet_hours=True,
    )


def _listed(form: Mapping[str, list[str]], name: str) -> list[Cell]:
    raw = form.get(name, [""])[0]
    return [_cell(value) for value in raw.split(",") if ":" in value]


def _cell(value: str) -> Cell:
    key, _, channel = value.rpartition(":")
    return key, channel


def _quiet_hours(form: Mapping[str, list[str]]) -> QuietHours | None:
    start = form.get("quiet_start", [""])[0].strip()[:_TIME_LENGTH]
    end = form.get("quiet_end", [""])[0].strip()[:_TIME_LENGTH]
    if not start and not end:
        return None
    if not TIME_OF_DAY.match(start) or not TIME_OF_DAY.match(end) or start == end:
        raise FormRefused("both times, or neither")
    return QuietHours(start, end)
