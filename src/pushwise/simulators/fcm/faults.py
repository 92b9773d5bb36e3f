"""Fault injection settings for the FCM simulator, parsed from the JSON dict callers hand in.

Same shape as the APNs simulator's (`reasons` there, `error_codes` here): every
random decision comes from the simulated service's one seeded `random.Random`, so
the same seed and request order inject the same faults.
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
from pushwise.simulators.fcm.errors import ERROR_CODES

ACCESS_TOKEN_LIFETIME_S = 3600


@dataclass(frozen=True, slots=True)
class FcmFaultConfig(TokenFaults):
    error_codes: dict[str, float] = field(default_factory=dict)
    retry_after_seconds: int | None = None
    outage: bool = False
    # `expires_in` of issued access tokens; after it a send answers 401 UNAUTHENTICATED.
    access_token_lifetime_s: int = ACCESS_TOKEN_LIFETIME_S
    # False accepts assertions signed at any time, for callers on a simulated clock.
    check_assertion_time: bool = True

    def injected_code(self, rng: random.Random) -> str | None:
        """One draw decides whether a valid request fails, and with which error code."""
        return draw(self.error_codes.items(), rng)


def parse_fcm_faults(raw: dict[str, Any] | None) -> FcmFaultConfig:
    """Validate a fault dict."""
    raw = dict(raw or {})
    reject_unknown(raw, FcmFaultConfig.__dataclass_fields__)
    codes = probabilities(raw.get("error_codes"), str)
    bad = sorted(set(codes) - set(ERROR_CODES))
    if bad:
        raise FaultConfigError(f"unknown FCM error codes: {bad}")
    check_total(codes, "error code")
    retry_after = raw.get("retry_after_seconds")
    lifetime = int(raw.get("access_token_lifetime_s", ACCESS_TOKEN_LIFETIME_S))
    if lifetime < 1:
        raise FaultConfigError("access_token_lifetime_s must be at least 1")
    prefix = raw.get("dead_token_prefix")
    return FcmFaultConfig(
        error_codes=codes,
        retry_after_seconds=None if retry_after is None else int(retry_after),
        dead_tokens=frozenset(str(t) for t in raw.get("dead_tokens") or ()),
        dead_token_prefix=str(prefix) if prefix else None,
        latency_ms=parse_latency(raw.get("latency_ms")),
        outage=bool(raw.get("outage", False)),
        access_token_lifetime_s=lifetime,
        check_assertion_time=bool(raw.get("check_assertion_time", True)),
    )
