"""Send at a wall-clock time in each recipient's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None) -> ZoneInfo:
    """The recipient's zone; UTC when unknown, so a bad profile never blocks a send."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_local_occurrence(hhmm: str, zone_name: str | None, after: float) -> float:
    """The first instant at or after `after` when the recipient's clock shows `hhmm`.

    Across a DST gap the wall time may not exist that day; `fold=0` resolution
    then lands an hour later, which is what a person setting an alarm expects.
    """
    tz = zone(zone_name)
    hour, minute = (int(part) for part in hhmm.split(":"))
    local_after = datetime.fromtimestamp(after, UTC).astimezone(tz)
    for day_offset in range(3):
        day = (local_after + timedelta(days=day_offset)).date()
        candidate = datetime.combine(day, time(hour, minute), tzinfo=tz)
        if candidate.timestamp() >= after:
            return candidate.timestamp()
    raise AssertionError("a wall-clock time recurs at least every two days")
