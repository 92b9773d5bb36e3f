"""The shop's ways of pushing that the study compares, each mapped to real pushwise settings.

`failing` is the case that motivates pushwise: a provider that fails now and then, no retries,
dead tokens kept and re-sent (no pruning), and a daily blast to everyone at one hour of the
shop's clock whatever the user's interest or night. `healthy` is the same shop with a sound
provider and modest volume. `blast` keeps the daily blast on a sound provider, so `failing`
against `blast` is what technical failure costs and `blast` against `healthy` what volume and
irrelevance cost. The pushwise arms keep the faults on and add one capability at a time:
`reliable` (retries with backoff, dead tokens pruned), `+gate` (caps, quiet hours, adaptive
fatigue), `+personalisation` (a template showing the catalogue item picked for each user
from what pushwise learnt of their interests) and `full` (and each user's best hour).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

# Technical faults at the provider simulators (a share of requests failing transiently):
# outages and throttling as providers report them, answered with their real codes.
APNS_FAULTS = {"reasons": {"ServiceUnavailable": 0.15, "InternalServerError": 0.07, "TooManyRequests": 0.05}}
FCM_FAULTS = {"error_codes": {"UNAVAILABLE": 0.15, "INTERNAL": 0.07, "QUOTA_EXCEEDED": 0.05}}
DAILY = frozenset(range(7))
TWICE_A_WEEK = frozenset({1, 4})  # Tuesday and Friday
GATE_POLICY: dict[str, Any] = {
    "caps": [{"window_seconds": 7 * 86_400, "max": 3}, {"window_seconds": 86_400, "max": 1}],
    "quiet_hours": {"start": "21:00", "end": "08:00", "spread_minutes": 30},
    "fatigue": {},
}
NO_GATE: dict[str, Any] = {
    "caps": [],
    "min_gap_seconds": 0,
    "quiet_hours": None,
    "fatigue": None,
    "digest": None,
}


@dataclass(frozen=True)
class Strategy:
    """`weekdays` the shop pushes on (0 = Monday); `hour_utc` its one hour for everyone, or
    `local_hour` in each user's zone; `pruning`: dead tokens stay pruned (False: the shop's own
    token list keeps registering them again); `personalised`: template + item picked per user."""

    name: str
    summary: str
    faults: bool
    retry_max_attempts: int
    pruning: bool
    weekdays: frozenset[int]
    hour_utc: int | None = None
    local_hour: str | None = None
    policy: dict[str, Any] = field(default_factory=lambda: dict(NO_GATE))
    personalised: bool = False
    send_time: bool = False
    # Chinese Android phones (the China population): the app registers the phone maker's token
    # beside FCM's, and pushwise routes by installation. Without it FCM reaches none of them.
    vendor_routes: bool = True


RELIABLE = Strategy(
    "reliable",
    "faults on; retries and pruning; daily blast at 10:00 UTC",
    faults=True,
    retry_max_attempts=6,
    pruning=True,
    weekdays=DAILY,
    hour_utc=10,
)
GATED = replace(
    RELIABLE,
    name="+gate",
    summary="reliable + caps (3/week, 1/day), quiet hours, fatigue",
    policy=GATE_POLICY,
)
PERSONAL = replace(
    GATED, name="+personalisation", summary="+gate + the item picked for each user", personalised=True
)

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "healthy",
            "sound provider, retries, two pushes a week at noon local",
            faults=False,
            retry_max_attempts=6,
            pruning=True,
            weekdays=TWICE_A_WEEK,
            local_hour="12:00",
            vendor_routes=False,
        ),
        Strategy(
            "failing",
            "provider faults, no retries, no pruning; daily blast at 10:00 UTC",
            faults=True,
            retry_max_attempts=1,
            pruning=False,
            weekdays=DAILY,
            hour_utc=10,
            vendor_routes=False,
        ),
        Strategy(
            "blast",
            "sound provider, retries; daily blast at 10:00 UTC",
            faults=False,
            retry_max_attempts=6,
            pruning=True,
            weekdays=DAILY,
            hour_utc=10,
            vendor_routes=False,
        ),
        RELIABLE,
        GATED,
        PERSONAL,
        replace(PERSONAL, name="full", summary="+personalisation + each user's best hour", send_time=True),
    )
}


def strategy_named(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; one of {', '.join(STRATEGIES)}") from None
