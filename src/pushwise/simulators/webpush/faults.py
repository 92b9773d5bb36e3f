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

from pushwise.simulators.faults import (
    FaultConfigError,
    check_total,
    draw,
    latency_s,
    latency_to_dict,
    parse_latency,
    probabilities,
    reject_unknown,
)

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
        return draw(self.statuses, rng)

    def latency_s(self, rng: random.Random) -> float:
        return latency_s(self.latency_ms, rng)

    def to_dict(self) -> dict[str, Any]:
        return {
            "statuses": {str(status): p for status, p in self.statuses},
            "retry_after_seconds": self.retry_after_seconds,
            "gone": sorted(self.gone),
            "latency_ms": latency_to_dict(self.latency_ms),
            "outage": self.outage,
        }


def parse_faults(raw: dict[str, Any] | None) -> PushFaults:
    """Validate a fault dict; unknown keys are errors, so a typo cannot silently disable a fault."""
    raw = dict(raw or {})
    reject_unknown(raw, _KNOWN)
    table = probabilities(raw.get("statuses"), int)
    bad = sorted(status for status in table if status not in INJECTABLE_STATUSES)
    if bad:
        raise FaultConfigError(f"cannot inject statuses {bad}; choose from {sorted(INJECTABLE_STATUSES)}")
    check_total(table, "status")
    retry_after = raw.get("retry_after_seconds")
    if retry_after is not None and int(retry_after) < 0:
        raise FaultConfigError("retry_after_seconds must not be negative")
    return PushFaults(
        statuses=tuple(sorted(table.items())),
        retry_after_seconds=None if retry_after is None else int(retry_after),
        gone=frozenset(str(s).rsplit("/", 1)[-1] for s in raw.get("gone") or ()),
        latency_ms=parse_latency(raw.get("latency_ms")),
        outage=bool(raw.get("outage", False)),
    )
