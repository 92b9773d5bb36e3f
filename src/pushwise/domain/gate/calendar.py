"""Scenario calendars at the gate: a marketing push on a day the sender set apart.

A notification's (or its campaign's) calendar rules are matched on the user's own local
date, in their own country (`domain/campaigns/calendar.py`). The gate holds three of
their outcomes: `suppress` (no marketing that day), `quiet_hours` (that day's own quiet
hours) and `send_window` (only between its start and end). A send window is quiet hours
turned inside out, so both go through the quiet-hours arithmetic and share its DST
handling. The reason names what matched (`calendar:christmas_day`): the app's rules bound
the set, so it stays a fit metric label. Transactional messages ignore calendars, and a
`template` rule is the renderer's, not the gate's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pushwise.domain.campaigns.calendar import day_for, matched
from pushwise.domain.gate.model import Defer, GateDelivery, Passed, Suppress, UserState
from pushwise.domain.gate.policy import GatePolicy, QuietWindow
from pushwise.domain.gate.quiet_hours import inside, spread_end, user_zone


def _window(then: Mapping[str, Any], spread_minutes: int) -> QuietWindow | None:
    """The quiet window a rule sets: its own quiet hours, or the hours outside its send window."""
    if "quiet_hours" in then:
        hours = then["quiet_hours"]
        return QuietWindow(hours["start"], hours["end"], spread_minutes)
    if "send_window" in then:
        hours = then["send_window"]
        return QuietWindow(hours["end"], hours["start"], spread_minutes)
    return None


def calendar_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Defer | Suppress | Passed:
    rules = delivery.notice.calendar
    if not rules:
        return Passed("no calendar")
    if delivery.transactional:
        return Passed("transactional messages ignore calendars")
    tz = user_zone(delivery, user, policy)
    day = day_for(now, tz.key, user.country)
    found = matched(rules, day)
    if found is None:
        return Passed("no rule for {} in {}", day.local, day.country or "an unknown country")
    what, then = found
    reason = f"calendar:{what}"
    if then.get("suppress"):
        return Suppress(reason)
    spread = policy.quiet_hours.spread_minutes if policy.quiet_hours else 0
    window = _window(then, spread)
    if window is None:
        return Passed("{}: the renderer switches the template", what)
    local = datetime.fromtimestamp(now, UTC).astimezone(tz)
    if not inside(window, local):
        return Passed("{}: {:%H:%M} {} is a sending hour", what, local, tz.key)
    return Defer(spread_end(window, tz, delivery, now), reason)
