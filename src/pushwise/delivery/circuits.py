"""The circuit board: one circuit per (app, channel), i.e. per provider endpoint and credential.

Shared by every worker of a process (`Engine.circuits`). Circuits live in memory:
after a restart they start closed, and the first failures reopen them quickly.
Monitoring publishes `reports()` for the rest of the cluster every few seconds and
hands back other processes' open circuits to `adopt`, so all workers hold together.
"""

from __future__ import annotations

from collections.abc import Mapping

from pushwise.domain.circuit import (
    HEALTHY,
    Circuit,
    CircuitKey,
    CircuitPolicy,
    CircuitReport,
    CircuitState,
    admit,
    adopt,
    observe,
)
from pushwise.domain.clock import Clock
from pushwise.domain.outcomes import Outcome

# Our own client-side quota is not the endpoint failing.
_NOT_ENDPOINT_FAILURES = frozenset({"LocalQuota"})


class CircuitBoard:
    def __init__(self, clock: Clock, policy: CircuitPolicy | None = None) -> None:
        self._clock = clock
        self.policy = policy or CircuitPolicy()
        self._circuits: dict[CircuitKey, Circuit] = {}

    def admit(self, key: CircuitKey) -> float | None:
        """None when a send may go now, else the time until which the delivery should wait."""
        circuit = self._circuits.get(key)
        if circuit is None:
            return None
        circuit, wait = admit(circuit, self._clock.now(), self.policy)
        self._circuits[key] = circuit
        return wait

    def observe(self, key: CircuitKey, outcome: Outcome) -> None:
        if outcome.reason in _NOT_ENDPOINT_FAILURES:
            return
        if outcome.kind in HEALTHY and key not in self._circuits:
            return  # a healthy answer to a healthy circuit: the common case costs a look-up
        circuit = observe(
            self._circuits.get(key, Circuit()), outcome.kind, outcome.reason, self._clock.now(), self.policy
        )
        if circuit.state is CircuitState.CLOSED and circuit.failures == 0:
            self._circuits.pop(key, None)  # healthy circuits cost no memory
        else:
            self._circuits[key] = circuit

    def reopens_at(self, key: CircuitKey) -> float | None:
        """When a delivery held by this circuit should come back; None while it is closed."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.state is CircuitState.CLOSED:
            return None
        return circuit.until

    def states(self) -> dict[CircuitKey, str]:
        """Every circuit that has seen trouble: 'closed' (counting failures), 'open' or 'half_open'."""
        return {key: circuit.state.value for key, circuit in self._circuits.items()}

    def reasons(self) -> dict[CircuitKey, str | None]:
        """Why each circuit last opened (the provider's word), for alerts."""
        return {key: circuit.reason for key, circuit in self._circuits.items()}

    def reports(self, owner: str) -> list[CircuitReport]:
        """This process's own circuits for the cluster; adopted ones are another process's word."""
        now = self._clock.now()
        return [
            CircuitReport(owner, app_id, channel, c.state, c.reason, c.opened_at, c.until, now)
            for (app_id, channel), c in self._circuits.items()
            if not c.adopted
        ]

    def adopt(self, holds: Mapping[CircuitKey, CircuitReport]) -> None:
        """Hold sends to endpoints another process has found failing (see `domain.circuit.adopt`)."""
        now = self._clock.now()
        for key, hold in holds.items():
            circuit = self._circuits.get(key, Circuit())
            held = adopt(circuit, hold, now)
            if held is not circuit:
                self._circuits[key] = held
