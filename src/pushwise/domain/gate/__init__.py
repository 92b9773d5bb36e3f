"""The gate: one decision per delivery, just before it is sent (DESIGN.md section 2b).

`decide(delivery, user_state, policy, now)` is pure; `pushwise.delivery.gate` feeds it a
claimed batch with the batch's user state read in one query, and records what it decided.
"""

from pushwise.domain.gate.decision import CHECKS, decide
from pushwise.domain.gate.model import (
    SEND,
    Decision,
    Defer,
    GateDelivery,
    GatePolicy,
    Send,
    Suppress,
    UserState,
)

__all__ = [
    "CHECKS",
    "SEND",
    "Decision",
    "Defer",
    "GateDelivery",
    "GatePolicy",
    "Send",
    "Suppress",
    "UserState",
    "decide",
]
