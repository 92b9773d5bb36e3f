"""Fault injection for the simulated push service, parsed from the dict tests and users hand in.

    {"statuses": {"410": 0.01, "429": 0.02, "503": 0.01}, "retry_after_seconds": 3,
     "gone": ["<subscription id>", ...], "latency_ms": {"min": 1, "max": 5}, "outage": false}

One draw from the service's seeded `random.Random` per valid request decides
whether it fails and with which status, so the same seed and request order
repeat the same faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from pushwise.simulators.apns.faults import FaultConfigError

INJECTABLE_STATUSES = frozenset({404, 410, 413, 429, 500, 503})
_KNOWN = frozenset({"statuses", "retry_after_seconds", "gone", "latency_ms", "outage"})

__all__ = ["INJECTABLE_STATUSES", "FaultConfigError", "PushFaults", "parse_faults"]


@dataclass(frozen=True, slots=True)
class PushFaults:
    statuses: tuple[tuple[int, float], ...] = ()
    retry_after_seconds: int | None = None
    gone: frozenset[str] = frozenset()  # subscription ids (or endpoints) unsubscribed: 410
    latency_ms: tuple[float, float] | None = None
    outage: bool = False  # every push answers 503

    def injected_status(self, rng: random.Random) -> int | None:
        if not self.statuses:
            return None
        draw = rng.random()
        for status, probability in self.statuses:
            draw -= probability
            if draw < 0:
                return status
        return None

    def latency_s(self, rng: random.Random) -> float:
        if self.latency_ms is None:
            return 0.0
        return rng.uniform(*self.latency_ms) / 1000.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "statuses": {str(status): p for status, p in self.statuses},
            "retry_after_seconds": self.retry_after_seconds,
            "gone": sorted(self.gone),
            "latency_ms": None
            if self.latency_ms is None
            else {"min": self.latency_ms[0], "max": self.latency_ms[1]},
            "outage": self.outage,
        }


def parse_faults(raw: dict[str, Any] | None) -> PushFaults:
    """Validate a fault dict; unknown keys are errors, so a typo cannot silently disable a fault."""
    raw = dict(raw or {})
    unknown = set(raw) - _KNOWN
    if unknown:
        raise FaultConfigError(f"unknown fault settings: {sorted(unknown)}")
    statuses = tuple(
        sorted((int(status), float(p)) for status, p in (raw.get("statuses") or {}).items() if float(p) > 0)
    )
    bad = sorted(status for status, _ in statuses if status not in INJECTABLE_STATUSES)
    if bad:
        raise FaultConfigError(f"cannot inject statuses {bad}; choose from {sorted(INJECTABLE_STATUSES)}")
    if sum(p for _, p in statuses) > 1.0 + 1e-9:
        raise FaultConfigError("status probabilities add up to more than 1")
    retry_after = raw.get("retry_after_seconds")
    if retry_after is not None and int(retry_after) < 0:
        raise FaultConfigError("retry_after_seconds must not be negative")
    return PushFaults(
        statuses=statuses,
        retry_after_seconds=None if retry_after is None else int(retry_after),
        gone=frozenset(str(s).rsplit("/", 1)[-1] for s in raw.get("gone") or ()),
        latency_ms=_latency(raw.get("latency_ms")),
        outage=bool(raw.get("outage", False)),
    )


def _latency(raw: Any) -> tuple[float, float] | None:
    if raw is None:
        return None
    low, high = (raw["min"], raw["max"]) if isinstance(raw, dict) else raw
    if not 0 <= float(low) <= float(high):
        raise FaultConfigError("latency_ms needs 0 <= min <= max")
    return float(low), float(high)
