"""A circuit breaker per provider endpoint and credential, as a pure state machine.

Closed: sends go. After `failure_threshold` retryable failures in a row (the
provider is down or overloaded) it opens: sends wait instead of burning attempts.
After a cool-down it is half-open: one probe goes; success closes it, failure opens
it again with a longer cool-down. A configuration error (revoked key, wrong topic)
opens it at once: no send can succeed until an operator acts.

Answers that prove the endpoint works (delivered, token dead, permanent rejection
of one message) close the circuit and reset the failure count.

Each process keeps its own circuits and reports them to the cluster (see
`CircuitReport`). The cluster's view of an endpoint is the worst state any live
process reports, and a process whose own circuit has no opinion yet *adopts*
another process's open circuit until that one's cool-down ends, so every worker
backs off together instead of each one spending `failure_threshold` sends to learn
what the cluster already knows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    opened_at: float = 0.0  # when it last opened
    adopted: bool = False  # held on another process's word, not on our own sends' answers


CircuitKey = tuple[str, str]  # (app_id, channel): one provider endpoint and credential

# A vendor's "quota spent" is a healthy answer too: the service works, the day's budget is used.
HEALTHY = frozenset(
    {OutcomeKind.DELIVERED, OutcomeKind.TOKEN_DEAD, OutcomeKind.PERMANENT, OutcomeKind.QUOTA_SPENT}
)


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
    if kind in HEALTHY:
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
    return Circuit(CircuitState.OPEN, 0, trips, now + policy.cool_down(trips), reason, opened_at=now)


def adopt(circuit: Circuit, hold: CircuitReport, now: float) -> Circuit:
    """Hold our sends while another process's circuit for this endpoint is open.

    Only a circuit without an opinion of its own follows (closed, or already adopted):
    one that opened on our own answers keeps its own schedule. Past `hold.until` the
    adopted circuit half-opens like any other, so this process probes for itself.
    """
    if hold.until <= now or (circuit.state is not CircuitState.CLOSED and not circuit.adopted):
        return circuit
    if circuit.state is CircuitState.OPEN and circuit.until >= hold.until:
        return circuit
    return replace(
        circuit,
        state=CircuitState.OPEN,
        until=hold.until,
        reason=hold.reason,
        opened_at=hold.opened_at,
        adopted=True,
    )


@dataclass(frozen=True, slots=True)
class CircuitReport:
    """One process's circuit for one endpoint, as published to the cluster."""

    owner: str  # the reporting process
    app_id: str
    channel: str
    state: CircuitState
    reason: str | None
    opened_at: float
    until: float
    updated_at: float

    @property
    def key(self) -> CircuitKey:
        return (self.app_id, self.channel)


_SEVERITY = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


def worst(reports: Iterable[CircuitReport]) -> dict[CircuitKey, CircuitReport]:
    """Per endpoint, the report of the process that sees it worst (open > half-open > closed).

    Among equals the longest hold wins, so the cluster's `until` is the last process's.
    """
    merged: dict[CircuitKey, CircuitReport] = {}
    for report in reports:
        current = merged.get(report.key)
        if current is None or (_SEVERITY[report.state], report.until) > (
            _SEVERITY[current.state],
            current.until,
        ):
            merged[report.key] = report
    return merged


def holds(reports: Iterable[CircuitReport], owner: str, now: float) -> Mapping[CircuitKey, CircuitReport]:
    """Other processes' open circuits still cooling down: what `owner` should adopt."""
    return worst(r for r in reports if r.owner != owner and r.state is CircuitState.OPEN and r.until > now)
