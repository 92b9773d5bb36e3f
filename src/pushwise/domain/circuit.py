"""A circuit breaker per provider endpoint and credential, as a pure state machine.

Closed: sends go. After `failure_threshold` retryable failures in a row (the
provider is down or overloaded) it opens: sends wait instead of burning attempts.
After a cool-down it is half-open: one probe goes; success closes it, failure opens
it again with a longer cool-down. A configuration error (revoked key, wrong topic)
opens it at once: no send can succeed until an operator acts.

Answers that prove the endpoint works (delivered, token dead, permanent rejection
of one message) close the circuit and reset the failure count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from pushwise.domain.outcomes import OutcomeKind


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    # A real outage fails hundreds of in-flight sends within a second; a few failing
    # deliveries in a trickle keep their own retry schedule instead of holding everyone.
    failure_threshold: int = 20
    open_seconds: float = 5.0  # first cool-down; doubles on each failed probe
    max_open_seconds: float = 300.0
    probe_seconds: float = 10.0  # how long one half-open probe may take before another is let through

    def cool_down(self, trips: int) -> float:
        return min(self.open_seconds * 2.0 ** max(trips - 1, 0), self.max_open_seconds)


@dataclass(frozen=True, slots=True)
class Circuit:
    state: CircuitState = CircuitState.CLOSED
    failures: int = 0  # retryable failures in a row
    trips: int = 0  # openings in a row without a success between them
    until: float = 0.0  # OPEN: when it half-opens; HALF_OPEN: when the probe out counts as lost
    reason: str | None = None  # why it last opened


_HEALTHY = frozenset({OutcomeKind.DELIVERED, OutcomeKind.TOKEN_DEAD, OutcomeKind.PERMANENT})


def admit(circuit: Circuit, now: float, policy: CircuitPolicy) -> tuple[Circuit, float | None]:
    """May one send go now? Returns the new circuit and None (go) or the time to wait until.

    Past the cool-down exactly one send goes as the probe; the others wait until it
    answers or until `probe_seconds` pass (a lost probe must not hold the circuit forever).
    """
    if circuit.state is CircuitState.CLOSED:
        return circuit, None
    if now < circuit.until:
        return circuit, circuit.until
    return replace(circuit, state=CircuitState.HALF_OPEN, until=now + policy.probe_seconds), None


def observe(circuit: Circuit, kind: OutcomeKind, reason: str, now: float, policy: CircuitPolicy) -> Circuit:
    if kind in _HEALTHY:
        return Circuit()
    if kind is OutcomeKind.CONFIGURATION:
        return _open(circuit, now, policy, reason)
    if kind is OutcomeKind.RETRY:
        failures = circuit.failures + 1
        if circuit.state is CircuitState.HALF_OPEN or failures >= policy.failure_threshold:
            return _open(circuit, now, policy, reason)
        return replace(circuit, failures=failures)
    return circuit  # a credential refresh says nothing about the endpoint


def _open(circuit: Circuit, now: float, policy: CircuitPolicy, reason: str) -> Circuit:
    if circuit.state is CircuitState.OPEN and now < circuit.until:
        return replace(circuit, reason=reason)  # late answers of sends made before it opened
    trips = circuit.trips + 1
    return Circuit(CircuitState.OPEN, 0, trips, now + policy.cool_down(trips), reason)
