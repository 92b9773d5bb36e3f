"""The gate's vocabulary: its three decisions and what it reads to take them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pushwise.domain.audience.preferences import NO_PREFERENCES, Category, Preferences


@dataclass(frozen=True, slots=True)
class Send:
    pass


@dataclass(frozen=True, slots=True)
class Defer:
    """Not now: claim it again at `until`. Not an attempt."""

    until: float
    reason: str


@dataclass(frozen=True, slots=True)
class Suppress:
    """Never send it: the delivery ends `suppressed` with `reason`."""

    reason: str


Decision = Send | Defer | Suppress
SEND = Send()


@dataclass(frozen=True, slots=True)
class GateDelivery:
    """What the gate needs to know of one delivery."""

    channel: str
    category: str | None
    transactional: bool


@dataclass(frozen=True, slots=True)
class UserState:
    """What the gate knows of the delivery's user; a delivery without a user gets the defaults."""

    preferences: Preferences = NO_PREFERENCES


@dataclass(frozen=True, slots=True)
class GatePolicy:
    """One app's rules: its categories (issue 11 adds caps, quiet hours, fatigue)."""

    categories: Mapping[str, Category] = field(default_factory=dict)


# One check of the gate: None lets the delivery pass on to the next check.
Check = Callable[[GateDelivery, UserState, GatePolicy, float], Defer | Suppress | None]
