"""What monitoring needs to know about circuit breakers (built in `pushwise.delivery`).

Monitoring only reads circuit states; whoever owns the breakers passes an object
with this shape to the composition root (`Engine.circuits`, a
`pushwise.delivery.circuits.CircuitBoard`, in one process).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

CIRCUIT_STATES = ("closed", "half_open", "open")


class CircuitStates(Protocol):
    def states(self) -> Mapping[tuple[str, str], str]:
        """Current state ("closed" | "half_open" | "open") per (app id, channel)."""
        ...
