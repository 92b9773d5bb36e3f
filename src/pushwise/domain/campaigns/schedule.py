"""When a recurring campaign runs next: cron expressions in the app's zone or each user's.

`"cron": "0 9 * * 1", "timezone": "Europe/Berlin"` runs at 09:00 Berlin time every Monday.
`"timezone": "user"` sends at that wall-clock time in each user's own zone: the campaign
fires as the earliest zone on Earth (UTC+14) reaches the cron time, with a local-time
send (`send_at: {"local_time": "09:00"}`), so every user gets it at their own 09:00 of
that day. That needs a cron with one minute and one hour (`30 9 * * *`, not `*/15 * * * *`).
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

from croniter import croniter

EARLIEST_ZONE = "Etc/GMT-14"  # UTC+14 (POSIX signs are inverted in these names)


class ScheduleInvalid(ValueError):
    pass


def check_cron(expression: str, timezone: str) -> None:
    if not croniter.is_valid(expression):
        raise ScheduleInvalid(f"{expression!r} is not a cron expression (minute hour day month weekday)")
    if timezone == "user":
        if local_time_of(expression) is None:
            raise ScheduleInvalid(
                'with "timezone": "user" the cron needs one minute and one hour, e.g. "0 9 * * *"'
            )
        return
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ScheduleInvalid(f"unknown IANA time zone {timezone!r}") from error


def local_time_of(expression: str) -> str | None:
    minute, hour, *_rest = expression.split()
    if minute.isdigit() and hour.isdigit() and int(minute) < 60 and int(hour) < 24:
        return f"{int(hour):02d}:{int(minute):02d}"
    return None


def next_run(expression: str, timezone: str, after: float) -> float:
    """The first run strictly after `after` (epoch seconds)."""
    zone = zoneinfo.ZoneInfo(EARLIEST_ZONE if timezone == "user" else timezone)
    start = datetime.fromtimestamp(after, UTC).astimezone(zone)
    return float(croniter(expression, start).get_next(float))
