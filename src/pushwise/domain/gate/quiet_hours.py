"""Quiet hours in the user's own time zone, and the user's zone itself.

Which window holds: the user's own (set on their preferences), else the category's
(`quiet_hours` in its config; null there: the category never waits), else the app's.
Transactional messages pass unless their category says they wait too
(`quiet_hours_transactional`): a one-time code must not wait, a "your parcel has
shipped" may. A push due inside the window is deferred to its end plus a jitter of up
to `spread_minutes`, the same for a user whichever worker looks, so explain and the
engine agree and the morning's sends are spread out.

All wall-clock arithmetic goes through `zoneinfo`, so DST changes and half-hour zones
need no special cases: a window end that does not exist on a spring-forward day
resolves later, never inside the window (property-tested).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from functools import cache
from zoneinfo import ZoneInfo

from pushwise.domain.audience.countries import likely_timezone
from pushwise.domain.gate.model import Defer, GateDelivery, Passed, UserState
from pushwise.domain.gate.policy import GatePolicy, QuietWindow
from pushwise.domain.local_time import zone

DEFAULT_SPREAD_MINUTES = 30
_UNSET = object()


def user_zone(delivery: GateDelivery, user: UserState, policy: GatePolicy) -> ZoneInfo:
    """The user's zone, else the device's, else their country's most likely one, else the app's."""
    for name in (user.timezone, delivery.timezone, likely_timezone(user.country), policy.default_timezone):
        if name:
            found = zone(name)
            if found.key != "UTC" or name == "UTC":
                return found
    return ZoneInfo("UTC")


def window_for(delivery: GateDelivery, user: UserState, policy: GatePolicy) -> tuple[QuietWindow | None, str]:
    """The quiet hours that hold for this delivery, and whose they are (for explain)."""
    category = policy.categories.get(delivery.category) if delivery.category else None
    config = category.config if category is not None else {}
    if delivery.transactional and not config.get("quiet_hours_transactional", False):
        return None, "transactional"
    spread = policy.quiet_hours.spread_minutes if policy.quiet_hours else DEFAULT_SPREAD_MINUTES
    own = user.preferences.quiet_hours
    if own is not None:
        return QuietWindow(own.start, own.end, spread), "user"
    chosen = config.get("quiet_hours", _UNSET)
    if chosen is None:
        return None, "category"
    if isinstance(chosen, dict):
        return QuietWindow(str(chosen["start"]), str(chosen["end"]), spread), "category"
    return policy.quiet_hours, "app"


@cache
def _wall(text: str) -> wall_time:
    hour, minute = (int(part) for part in text.split(":"))
    return wall_time(hour, minute)


def inside(window: QuietWindow, local: datetime) -> bool:
    start, end, now = _wall(window.start), _wall(window.end), local.time().replace(tzinfo=None)
    if start < end:
        return start <= now < end
    return now >= start or now < end


def _next_wall(hhmm: str, tz: ZoneInfo, after: float) -> float:
    """The first instant strictly after `after` whose wall time (fold 0) is `hhmm`."""
    local = datetime.fromtimestamp(after, UTC).astimezone(tz)
    moment = _wall(hhmm)
    for offset in range(-1, 3):
        candidate = datetime.combine(local.date() + timedelta(days=offset), moment, tzinfo=tz).timestamp()
        if candidate > after:
            return candidate
    raise AssertionError("a wall-clock time recurs within two days")


def window_end(window: QuietWindow, tz: ZoneInfo, now: float) -> float:
    """When the quiet hours around `now` are over: the first instant after it outside the window."""
    at = now
    for _ in range(4):
        at = _next_wall(window.end, tz, at)
        if not inside(window, datetime.fromtimestamp(at, UTC).astimezone(tz)):
            return at
    raise AssertionError("quiet hours never end")  # pragma: no cover - windows are shorter than a day


def spread_offset(key: str, at: float, seconds: float) -> float:
    """A stable offset in [0, seconds) for `key`: the same user lands on the same minute."""
    if seconds <= 0:
        return 0.0
    digest = hashlib.blake2b(f"{key}@{int(at)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64 * seconds


def spread_key(delivery: GateDelivery) -> str:
    return delivery.user_id or f"delivery:{delivery.id}"


def spread_end(window: QuietWindow, tz: ZoneInfo, delivery: GateDelivery, now: float) -> float:
    """When a delivery held by `window` at `now` goes: the window's end plus its user's jitter."""
    end = window_end(window, tz, now)
    until = end + spread_offset(spread_key(delivery), end, window.spread_minutes * 60.0)
    if inside(window, datetime.fromtimestamp(until, UTC).astimezone(tz)):
        return end  # the window comes round again within the spread: no jitter then
    return until


def quiet_hours_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Defer | Passed:
    window, source = window_for(delivery, user, policy)
    if window is None:
        return Passed("none apply ({})", source)
    tz = user_zone(delivery, user, policy)
    local = datetime.fromtimestamp(now, tz)
    if not inside(window, local):
        return Passed("{:%H:%M} is outside {}-{} {} ({})", local, window.start, window.end, tz.key, source)
    return Defer(spread_end(window, tz, delivery, now), "quiet_hours")
