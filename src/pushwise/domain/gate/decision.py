"""The order of the gate's checks, and the decision they add up to.

Each check looks at the delivery, the user's state and the app's policy and either lets
the delivery pass (None or `Passed`) or decides; the first check that decides wins.
`explain` walks the same list and says what each check saw, so an explanation is the
engine's own reasoning, not a description of it.

A deferral never outlives the message: one that would end at or after the
notification's expiry becomes a suppression with the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pushwise.domain.gate.calendar import calendar_check
from pushwise.domain.gate.caps import cap_check, duplicate_check, gap_check, vendor_quota_check
from pushwise.domain.gate.digest import digest_check
from pushwise.domain.gate.fatigue import fatigue_check
from pushwise.domain.gate.holdout import holdout_check
from pushwise.domain.gate.model import (
    SEND,
    Check,
    Decision,
    Defer,
    GateDelivery,
    Held,
    Merge,
    Passed,
    Suppress,
    UserState,
    Verdict,
)
from pushwise.domain.gate.policy import GatePolicy
from pushwise.domain.gate.preferences import preference_check
from pushwise.domain.gate.quiet_hours import quiet_hours_check
from pushwise.domain.gate.send_time import send_time_check
from pushwise.domain.gate.uplift import uplift_check

CHECKS: tuple[tuple[str, Check], ...] = (
    ("preferences", preference_check),
    ("holdout", holdout_check),
    ("uplift", uplift_check),
    ("duplicate", duplicate_check),
    ("calendar", calendar_check),
    ("digest", digest_check),
    ("quiet_hours", quiet_hours_check),
    ("send_time", send_time_check),
    ("min_gap", gap_check),
    ("caps", cap_check),
    ("fatigue", fatigue_check),
    ("vendor_quota", vendor_quota_check),
)


@dataclass(frozen=True, slots=True)
class Step:
    check: str
    result: str  # pass | defer | suppress | hold_out | merge | not_reached
    detail: str


def within_expiry(verdict: Held, delivery: GateDelivery) -> Held:
    expires_at = delivery.notice.expires_at
    if isinstance(verdict, Defer) and expires_at is not None and verdict.until >= expires_at:
        return Suppress(verdict.reason)
    return verdict


def decide(delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float) -> Decision:
    for _name, check in CHECKS:
        verdict = check(delivery, user, policy, now)
        if verdict is not None and not isinstance(verdict, Passed):
            return within_expiry(verdict, delivery)
    return SEND


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


_RESULTS = {"Defer": "defer", "Suppress": "suppress", "HoldOut": "hold_out", "Merge": "merge"}


def _words(verdict: Verdict | None, decision: Held | None) -> tuple[str, str]:
    if verdict is None or isinstance(verdict, Passed):
        return "pass", verdict.detail if verdict is not None else ""
    assert decision is not None
    detail = f"until {_utc(decision.until)}" if isinstance(decision, Defer) else ""
    if isinstance(decision, Merge):
        detail = f"joins the digest carried by delivery {decision.carrier}"
    if isinstance(verdict, Defer) and isinstance(decision, Suppress):
        detail = f"would wait until {_utc(verdict.until)}, past the notification's expiry"
    elif isinstance(decision, Suppress) and decision.detail:
        detail = decision.detail
    return _RESULTS[type(decision).__name__], f"{decision.reason}" + (f": {detail}" if detail else "")


def explain(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> tuple[Decision, list[Step]]:
    """The decision `decide` takes, with every check's finding in order (later ones not reached)."""
    steps: list[Step] = []
    decision: Decision = SEND
    for name, check in CHECKS:
        if decision is not SEND:
            steps.append(Step(name, "not_reached", ""))
            continue
        verdict = check(delivery, user, policy, now)
        decided = None if verdict is None or isinstance(verdict, Passed) else within_expiry(verdict, delivery)
        result, detail = _words(verdict, decided)
        steps.append(Step(name, result, detail))
        if decided is not None:
            decision = decided
    return decision, steps
