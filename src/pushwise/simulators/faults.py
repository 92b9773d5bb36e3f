"""The fault vocabulary every simulator shares: validation errors, weighted draws, latency.

Each simulator keeps its own fault dataclass (which reasons, codes or statuses it can
inject); these functions make them validate and draw the same way, so one seed gives
one sequence of faults whatever the provider.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, TypeVar

Outcome = TypeVar("Outcome")

_ROUNDING = 1e-9  # probabilities written as decimals may add up to 1.0000000001


class FaultConfigError(ValueError):
    """The fault configuration names an unknown reason or an impossible value."""


def reject_unknown(raw: dict[str, Any], known: Collection[str]) -> None:
    """Unknown keys are errors: a typo must not silently disable a fault."""
    unknown = set(raw) - set(known)
    if unknown:
        raise FaultConfigError(f"unknown fault settings: {sorted(unknown)}")


def probabilities(raw: Any, key: Callable[[Any], Outcome]) -> dict[Outcome, float]:
    """{outcome: probability} from a JSON object, without the outcomes that never happen."""
    return {key(name): float(p) for name, p in (raw or {}).items() if float(p) > 0}


def check_total(table: dict[Any, float], noun: str) -> None:
    if sum(table.values()) > 1.0 + _ROUNDING:
        raise FaultConfigError(f"{noun} probabilities add up to more than 1")


def draw(table: Collection[tuple[Outcome, float]], rng: random.Random) -> Outcome | None:
    """One draw decides whether a valid request fails, and with which outcome (None: it succeeds)."""
    if not table:
        return None
    point = rng.random()
    for outcome, probability in table:
        point -= probability
        if point < 0:
            return outcome
    return None


def parse_latency(raw: Any) -> tuple[float, float] | None:
    """`{"min": ms, "max": ms}` or `[min, max]`."""
    if raw is None:
        return None
    low, high = (raw["min"], raw["max"]) if isinstance(raw, dict) else raw
    low, high = float(low), float(high)
    if not 0 <= low <= high:
        raise FaultConfigError("latency_ms needs 0 <= min <= max")
    return low, high


def latency_s(latency_ms: tuple[float, float] | None, rng: random.Random) -> float:
    """A delay drawn uniformly from the range (no draw, so no change to the sequence, without one)."""
    if latency_ms is None:
        return 0.0
    low, high = latency_ms
    return rng.uniform(low, high) / 1000.0


def latency_to_dict(latency_ms: tuple[float, float] | None) -> dict[str, float] | None:
    return None if latency_ms is None else {"min": latency_ms[0], "max": latency_ms[1]}


@dataclass(frozen=True, slots=True)
class TokenFaults:
    """What the push simulators' fault settings share: dead tokens and response latency."""

    # APNs tokens are hex, so a dead prefix matches whatever the case; FCM tokens are case-sensitive.
    fold_case: ClassVar[bool] = False

    dead_tokens: frozenset[str] = frozenset()
    dead_token_prefix: str | None = None
    latency_ms: tuple[float, float] | None = None

    def is_dead(self, token: str) -> bool:
        prefix = self.dead_token_prefix
        if token in self.dead_tokens:
            return True
        return prefix is not None and (token.lower() if self.fold_case else token).startswith(prefix)

    def latency_s(self, rng: random.Random) -> float:
        return latency_s(self.latency_ms, rng)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dead_tokens"] = sorted(self.dead_tokens)
        data["latency_ms"] = latency_to_dict(self.latency_ms)
        return data
