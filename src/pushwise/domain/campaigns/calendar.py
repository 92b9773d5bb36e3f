"""Scenario calendars: what a day is for a user, in their own country and on their own clock.

A campaign (or notification) may carry `"calendar": [{"on": {...}, "then": {...}}]`. `on` matches
a user's local date, and the first rule that matches decides:

- `{"holiday": "christmas_day"}` (or `"any"`): a public holiday of the user's country, from the
  `holidays` package (names in snake case: `christmas_day`, `thanksgiving_day`,
  `chinese_new_year_spring_festival`, ...); `"countries": ["DE", "AT"]` narrows it;
- `{"dates": ["11-11", "2026-11-27"]}`: the app's own dates (every year, or one day);
- `{"shop_day": "singles_day" | "black_friday" | "cyber_monday" | "618"}`: shopping days worked out
  per year (Black Friday is the day after the fourth Thursday of November);
- `{"season": "winter" | "spring" | "summer" | "autumn"}`: meteorological seasons, turned around
  in the southern hemisphere (December is summer in Sydney).

`then` is `{"template": "<key>"}` (send that template instead), `{"suppress": true}` (no marketing
that day: the gate suppresses with reason `calendar:<what matched>`), `{"quiet_hours": {"start",
"end"}}` or `{"send_window": {"start", "end"}}` (the gate defers outside it). Transactional messages
ignore calendars.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import holidays

from pushwise.domain.audience.preferences import TIME_OF_DAY

SEASONS_NORTH = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}
_OPPOSITE = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}
# Countries wholly or mostly south of the equator.
SOUTHERN = frozenset(
    {
        "AR",
        "AU",
        "BO",
        "BR",
        "BW",
        "CL",
        "FJ",
        "LS",
        "MG",
        "MU",
        "MZ",
        "NA",
        "NZ",
        "PE",
        "PY",
        "SZ",
        "UY",
        "ZA",
        "ZM",
        "ZW",
    }
)
SHOP_DAYS = ("singles_day", "black_friday", "cyber_monday", "618")
_DATE = re.compile(r"^(\d{4}-)?\d{2}-\d{2}$")


class CalendarInvalid(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@cache
def _holidays(country: str, year: int) -> dict[date, frozenset[str]]:
    try:
        found = holidays.country_holidays(country, years=year)
    except (NotImplementedError, KeyError):
        return {}
    days: dict[date, set[str]] = {}
    for day, names in found.items():
        for name in str(names).split("; "):
            days.setdefault(day, set()).add(snake(name))
    return {day: frozenset(names) for day, names in days.items()}


def _thanksgiving(year: int) -> date:
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(weeks=3)


def shop_days(year: int) -> dict[date, str]:
    black_friday = _thanksgiving(year) + timedelta(days=1)
    return {
        date(year, 11, 11): "singles_day",
        black_friday: "black_friday",
        black_friday + timedelta(days=3): "cyber_monday",
        date(year, 6, 18): "618",
    }


@dataclass(frozen=True, slots=True)
class Day:
    """A user's local date with what it is for them."""

    local: date
    country: str | None
    holidays: frozenset[str]
    shop_day: str | None
    season: str


def day_for(instant: float, timezone: str | None, country: str | None) -> Day:
    try:
        zone = zoneinfo.ZoneInfo(timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    local = datetime.fromtimestamp(instant, UTC).astimezone(zone).date()
    season = SEASONS_NORTH[local.month]
    if country in SOUTHERN:
        season = _OPPOSITE[season]
    names = _holidays(country, local.year).get(local, frozenset()) if country else frozenset()
    return Day(local, country, names, shop_days(local.year).get(local), season)


def check_rules(rules: Any, path: str = "calendar") -> list[dict[str, Any]]:
    if not isinstance(rules, list):
        raise CalendarInvalid(path, "a list of {on, then}")
    for index, rule in enumerate(rules):
        here = f"{path}[{index}]"
        on, then = (rule.get("on"), rule.get("then")) if isinstance(rule, Mapping) else (None, None)
        if not isinstance(on, Mapping) or len(on.keys() - {"countries"}) != 1:
            raise CalendarInvalid(
                f"{here}.on", "one of holiday, dates, shop_day, season (and optional countries)"
            )
        if "dates" in on and not (
            isinstance(on["dates"], list) and all(isinstance(d, str) and _DATE.match(d) for d in on["dates"])
        ):
            raise CalendarInvalid(f"{here}.on.dates", 'dates as "MM-DD" or "YYYY-MM-DD"')
        if "shop_day" in on and on["shop_day"] not in SHOP_DAYS:
            raise CalendarInvalid(f"{here}.on.shop_day", f"one of {', '.join(SHOP_DAYS)}")
        if "season" in on and on["season"] not in _OPPOSITE:
            raise CalendarInvalid(f"{here}.on.season", "winter, spring, summer or autumn")
        if (
            not isinstance(then, Mapping)
            or len(then) != 1
            or next(iter(then)) not in ("template", "suppress", "quiet_hours", "send_window")
        ):
            raise CalendarInvalid(f"{here}.then", "one of template, suppress, quiet_hours, send_window")
        _check_then(then, f"{here}.then")
    return list(rules)


def _check_then(then: Mapping[str, Any], path: str) -> None:
    ((what, value),) = then.items()
    if what == "template" and not (isinstance(value, str) and value):
        raise CalendarInvalid(f"{path}.template", "a template key")
    if what == "suppress" and value is not True:
        raise CalendarInvalid(f"{path}.suppress", "true (no marketing that day)")
    if what in ("quiet_hours", "send_window"):
        hours = value if isinstance(value, Mapping) else {}
        if hours.keys() != {"start", "end"} or not all(
            isinstance(hours[edge], str) and TIME_OF_DAY.match(hours[edge]) for edge in ("start", "end")
        ):
            raise CalendarInvalid(f"{path}.{what}", '{"start": "HH:MM", "end": "HH:MM"} in the user\'s zone')
        if hours["start"] == hours["end"]:
            raise CalendarInvalid(f"{path}.{what}", "start and end differ")


def matched(rules: Sequence[Mapping[str, Any]], day: Day) -> tuple[str, Mapping[str, Any]] | None:
    """The first rule whose `on` holds for `day`: (what matched, its `then`), or None."""
    for rule in rules:
        on = rule["on"]
        countries = on.get("countries")
        if countries is not None and day.country not in countries:
            continue
        what = _what(on, day)
        if what is not None:
            return what, rule["then"]
    return None


def _what(on: Mapping[str, Any], day: Day) -> str | None:
    if "holiday" in on:
        wanted = on["holiday"]
        if wanted == "any" and day.holidays:
            return sorted(day.holidays)[0]
        return wanted if wanted in day.holidays else None
    if "dates" in on:
        stamps = {day.local.isoformat(), day.local.isoformat()[5:]}
        return next((d for d in on["dates"] if d in stamps), None)
    if "shop_day" in on:
        return on["shop_day"] if day.shop_day == on["shop_day"] else None
    return on["season"] if day.season == on["season"] else None
