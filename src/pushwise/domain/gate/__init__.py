"""The gate: one decision per delivery, just before it is sent (DESIGN.md section 2b).

`decide(delivery, user_state, policy, now)` is pure; `pushwise.delivery.gate` feeds it a
claimed batch with the batch's user state read (and cap slots reserved) in one
transaction, and records what it decided. `explain` walks the same checks and says why.
"""

from pushwise.domain.gate.decision import CHECKS, Step, decide, explain
from pushwise.domain.gate.model import (
    SEND,
    Decision,
    Defer,
    GateDelivery,
    GateNotice,
    HoldOut,
    Merge,
    OpenDigest,
    Passed,
    Send,
    SentPush,
    Suppress,
    Targeting,
    UserState,
)
from pushwise.domain.gate.policy import GatePolicy

__all__ = [
    "CHECKS",
    "SEND",
    "Decision",
    "Defer",
    "GateDelivery",
    "GateNotice",
    "GatePolicy",
    "HoldOut",
    "Merge",
    "OpenDigest",
    "Passed",
    "Send",
    "SentPush",
    "Step",
    "Suppress",
    "Targeting",
    "UserState",
    "decide",
    "explain",
]
