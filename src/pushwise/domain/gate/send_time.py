"""Send-time optimisation: each user's best hour of the week, for notifications that ask.

`send_at: {"optimize": true, "within_hours": 24}` lets the gate hold a first attempt
until the hour, within that span from acceptance, when this user tends to read. The
hours are local (the user's zone: `quiet_hours.user_zone`), numbered 0 (Monday 00:00)
to 167. Each user's opens and clicks feed a decayed histogram (`store/send_hours.py`,
in the event ingest's write); an hour's score is the user's weight there (plus a seventh
of the same hour on other days: `pooled`) plus `prior_strength` opens spread like the
app's whole population, so a user with little history gets the population's best hour
and one with a clear habit gets their own.
Hours inside quiet hours are never picked. With no history anywhere it sends now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from pushwise.domain.audience.countries import likely_timezone
from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.learning import LearnedEvent
from pushwise.domain.gate.model import Defer, GateDelivery, Passed, UserState
from pushwise.domain.gate.policy import DAY, HOUR, GatePolicy
from pushwise.domain.gate.quiet_hours import inside, spread_key, spread_offset, user_zone, window_for
from pushwise.domain.local_time import zone

HOURS_PER_WEEK = 168
# Habits change slowly: an open two months ago weighs half of one today.
HISTORY_HALF_LIFE = 60 * DAY
READ_EVENTS = frozenset({"opened", "clicked"})


def hour_deltas(
    events: Iterable[LearnedEvent], zones: Mapping[str, str | None]
) -> dict[tuple[str, int], Decayed]:
    """What a batch of events adds to each user's histogram: (user, local hour of week) -> decayed count.

    `zones` gives each user's zone (their own, else their country's most likely one); an
    unknown zone counts in UTC.
    """
    deltas: dict[tuple[str, int], Decayed] = {}
    for event in events:
        if event.type not in READ_EVENTS:
            continue
        local = datetime.fromtimestamp(event.at, UTC).astimezone(zone(zones.get(event.user_id)))
        key = (event.user_id, hour_of_week(local))
        previous = deltas.get(key)
        deltas[key] = (
            Decayed(1.0, event.at) if previous is None else previous.plus(1.0, event.at, HISTORY_HALF_LIFE)
        )
    return deltas


def population_deltas(deltas: Mapping[tuple[str, int], Decayed]) -> dict[int, Decayed]:
    """The same events summed over users: what the batch adds to the app's histogram."""
    summed: dict[int, Decayed] = {}
    for (_user, hour), value in deltas.items():
        previous = summed.get(hour)
        summed[hour] = value if previous is None else previous.plus(value.value, value.at, HISTORY_HALF_LIFE)
    return summed


def zone_name(timezone: str | None, country: str | None) -> str | None:
    return timezone or likely_timezone(country)


def hour_of_week(local: datetime) -> int:
    return local.weekday() * 24 + local.hour


def pooled(histogram: Mapping[int, float]) -> list[float]:
    """Each hour of the week's weight plus a seventh of the same hour on the other six days:
    habits are mostly daily, and the week only refines them, so a user who reads at 13:00
    from Monday to Thursday is expected at 13:00 on a Friday too."""
    daily = [sum(histogram.get(day * 24 + hour, 0.0) for day in range(7)) for hour in range(24)]
    return [
        histogram.get(slot, 0.0) + (daily[slot % 24] - histogram.get(slot, 0.0)) / 7
        for slot in range(HOURS_PER_WEEK)
    ]


def hour_scores(
    user: Mapping[int, float], population: Mapping[int, float], prior_strength: float
) -> list[float]:
    own, crowd = pooled(user), pooled(population)
    total = sum(crowd)
    return [
        own[slot] + (prior_strength * crowd[slot] / total if total > 0 else 0.0)
        for slot in range(HOURS_PER_WEEK)
    ]


def send_time_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Defer | Passed:
    within = delivery.notice.optimize_within
    if within is None:
        return Passed("not asked")
    if delivery.attempts:
        return Passed("a retry goes when due")
    ends = delivery.notice.created_at + within
    if now >= ends:
        return Passed("the span to optimise in is over")
    model = policy.send_time
    scores = hour_scores(user.send_hours, policy.population_hours, model.prior_strength)
    if not any(scores):
        return Passed("no history in this app yet: now")
    tz = user_zone(delivery, user, policy)
    window, _source = window_for(delivery, user, policy)
    local = datetime.fromtimestamp(now, UTC).astimezone(tz)
    top = local.replace(minute=0, second=0, microsecond=0).timestamp()
    best_at, best_score, best_hour = None, -1.0, 0
    candidate, step = now, 0
    while candidate < ends:
        at = datetime.fromtimestamp(candidate, UTC).astimezone(tz)
        hour = hour_of_week(at)
        if (window is None or not inside(window, at)) and scores[hour] > best_score:
            best_at, best_score, best_hour = candidate, scores[hour], hour
        step += 1
        candidate = top + step * HOUR
    if best_at is None:
        return Passed("every hour left is quiet: left to quiet hours")
    if best_at == now:
        return Passed("hour {} of the week is this user's best within the span", best_hour)
    spread = min(model.spread_minutes * 60.0, HOUR, ends - best_at)
    return Defer(best_at + spread_offset(spread_key(delivery), best_at, spread), "send_time")
