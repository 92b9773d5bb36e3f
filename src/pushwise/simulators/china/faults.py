"""Fault injection for the vendor simulators, in the vocabulary every simulator shares.

`error_rates` names faults by what they mean, and each vendor answers them with its
own code (`FAULT_CODES`): a fault a vendor has no confirmed answer for is refused
here rather than invented. `marketing_per_device_day` makes the simulator count
marketing-class pushes per token and Shanghai day, like the vendors since 2023: past
the cap a vendor with a known "quota spent" code answers it, the others drop the
push silently (counted in stats as `dropped_by_quota`), as the real services do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from pushwise.simulators.faults import (
    FaultConfigError,
    TokenFaults,
    check_total,
    draw,
    parse_latency,
    probabilities,
    reject_unknown,
)

FAULTS = ("flow_control", "unavailable", "token_expired", "quota_spent")
# Which vendors can answer each fault in their own words (china-vendors facts).
FAULT_CODES: dict[str, frozenset[str]] = {
    "huawei": frozenset({"flow_control", "unavailable", "token_expired"}),
    "honor": frozenset({"flow_control", "unavailable", "token_expired"}),
    "xiaomi": frozenset({"flow_control", "unavailable", "quota_spent"}),
    "oppo": frozenset({"flow_control", "unavailable", "token_expired", "quota_spent"}),
    "vivo": frozenset({"flow_control", "unavailable", "token_expired"}),
}
TOKEN_LIFETIME_S = 3600


@dataclass(frozen=True, slots=True)
class VendorFaults(TokenFaults):
    error_rates: dict[str, float] = field(default_factory=dict)
    outage: bool = False
    marketing_per_device_day: int | None = None
    token_lifetime_s: int = TOKEN_LIFETIME_S
    # False accepts signed auth requests whatever their timestamp, for callers on a simulated clock.
    check_timestamps: bool = True

    def injected(self, rng: random.Random) -> str | None:
        return draw(self.error_rates.items(), rng)

    def to_dict(self) -> dict[str, Any]:
        return {**TokenFaults.to_dict(self), "error_rates": dict(self.error_rates)}


def parse_vendor_faults(vendor: str, raw: dict[str, Any] | None) -> VendorFaults:
    raw = dict(raw or {})
    reject_unknown(raw, VendorFaults.__dataclass_fields__)
    rates = probabilities(raw.get("error_rates"), str)
    unknown = sorted(set(rates) - set(FAULTS))
    if unknown:
        raise FaultConfigError(f"unknown faults {unknown}: the simulators inject {', '.join(FAULTS)}")
    unanswered = sorted(set(rates) - FAULT_CODES[vendor])
    if unanswered:
        raise FaultConfigError(f"{vendor} has no documented answer for {unanswered}")
    check_total(rates, "fault")
    cap = raw.get("marketing_per_device_day")
    lifetime = int(raw.get("token_lifetime_s", TOKEN_LIFETIME_S))
    if lifetime < 1:
        raise FaultConfigError("token_lifetime_s must be at least 1")
    prefix = raw.get("dead_token_prefix")
    return VendorFaults(
        dead_tokens=frozenset(str(t) for t in raw.get("dead_tokens") or ()),
        dead_token_prefix=str(prefix) if prefix else None,
        latency_ms=parse_latency(raw.get("latency_ms")),
        error_rates=rates,
        outage=bool(raw.get("outage", False)),
        marketing_per_device_day=None if cap is None else int(cap),
        token_lifetime_s=lifetime,
        check_timestamps=bool(raw.get("check_timestamps", True)),
    )
