"""The order of the gate's checks, and the decision they add up to.

Each check looks at the delivery, the user's state and the app's policy and either lets
the delivery pass (None) or decides (defer or suppress); the first check that decides
wins. Today the one check is the user's preferences; caps, quiet hours and timing
(issue 11) join `CHECKS`, and an explanation can walk the same list.
"""

from __future__ import annotations

from pushwise.domain.gate.model import SEND, Check, Decision, GateDelivery, GatePolicy, UserState
from pushwise.domain.gate.preferences import preference_check

CHECKS: tuple[tuple[str, Check], ...] = (("preferences", preference_check),)


def decide(delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float) -> Decision:
    for _name, check in CHECKS:
        decided = check(delivery, user, policy, now)
        if decided is not None:
            return decided
    return SEND
