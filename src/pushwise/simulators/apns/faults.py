"""Fault injection settings, parsed from the JSON dict users and tests hand in.

Every random decision is drawn from one seeded `random.Random` owned by the
simulated service, so a run with the same seed and the same request order
injects the same faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pushwise.simulators.apns.reasons import REASON_STATUS
from pushwise.simulators.faults import (
    FaultConfigError,
    TokenFaults,
    check_total,
    draw,
    parse_latency,
    probabilities,
    reject_unknown,
)

__all__ = ["CONNECTION_FAULTS", "FaultConfig", "FaultConfigError", "parse_faults"]

# Faults that act on the HTTP/2 connection itself; only the `h2` engine can inject them.
CONNECTION_FAULTS = ("drop_connection_rate", "goaway_after_streams")


@dataclass(frozen=True, slots=True)
class FaultConfig(TokenFaults):
    fold_case: ClassVar[bool] = True

    reasons: dict[str, float] = field(default_factory=dict)
    retry_after_seconds: int | None = None
    drop_connection_rate: float = 0.0
    goaway_after_streams: int | None = None
    outage: bool = False
    # Maximum age of a provider token; None accepts tokens minted on a simulated clock.
    token_max_age_s: float | None = 3600.0

    @property
    def needs_connection_control(self) -> bool:
        return self.drop_connection_rate > 0 or self.goaway_after_streams is not None

    def injected_reason(self, rng: random.Random) -> str | None:
        """One draw decides whether a valid request fails, and with which reason."""
        return draw(self.reasons.items(), rng)


def parse_faults(raw: dict[str, Any] | None) -> FaultConfig:
    """Validate a fault dict."""
    raw = dict(raw or {})
    reject_unknown(raw, FaultConfig.__dataclass_fields__)
    reasons = probabilities(raw.get("reasons"), str)
    bad = sorted(set(reasons) - set(REASON_STATUS))
    if bad:
        raise FaultConfigError(f"unknown APNs reasons: {bad}")
    check_total(reasons, "reason")
    drop_rate = float(raw.get("drop_connection_rate") or 0.0)
    if not 0.0 <= drop_rate <= 1.0:
        raise FaultConfigError("drop_connection_rate must be within [0, 1]")
    goaway = raw.get("goaway_after_streams")
    if goaway is not None and int(goaway) < 1:
        raise FaultConfigError("goaway_after_streams must be at least 1")
    retry_after = raw.get("retry_after_seconds")
    max_age = raw.get("token_max_age_s", 3600.0)
    prefix = raw.get("dead_token_prefix")
    return FaultConfig(
        reasons=reasons,
        retry_after_seconds=None if retry_after is None else int(retry_after),
        dead_tokens=frozenset(str(t) for t in raw.get("dead_tokens") or ()),
        dead_token_prefix=str(prefix).lower() if prefix else None,
        latency_ms=parse_latency(raw.get("latency_ms")),
        drop_connection_rate=drop_rate,
        goaway_after_streams=None if goaway is None else int(goaway),
        outage=bool(raw.get("outage", False)),
        token_max_age_s=None if max_age is None else float(max_age),
    )
