"""Targeting by uplift: a marketing send goes only where the model says it is worth its cost.

A notification or campaign naming an uplift model (`"uplift": {"model"}`, or
`"variants": {"mode": "uplift"}`) is decided per user by that model
(`domain/uplift/decision.py`: expected gain against the cost per send, shrunk toward
the best fixed policy when unsure). Users the model would not send to are suppressed
with reason `uplift`. The worker scores a claimed batch's users in one model call per
notification before the gate runs (`delivery/targeting.py`); this check only reads
the decision it was handed, so the gate stays a pure function of its inputs.

Two things never go through a model:

- transactional messages (an order confirmation must not depend on a marketing model);
- the randomised slice. A targeted send keeps a holdout (`holdout_percent`, 5 by
  default): those users are held out by the holdout check before this one. An equal
  random slice, drawn from the same stable hash, is sent without asking the model (the
  `explore` slice). Holdout and explore users are the only ones recorded as the send's
  experiment (`holdout` and `sent` arms, 50/50 by construction), so the next model
  learns from randomised data, not from what this model chose, and drift shows as the
  gap between the two arms.
"""

from __future__ import annotations

from pushwise.domain.content.variants import bucket, held_out
from pushwise.domain.gate.model import GateDelivery, Passed, Suppress, UserState
from pushwise.domain.gate.policy import GatePolicy
from pushwise.domain.uplift.decision import Decision

REASON = "uplift"
DEFAULT_HOLDOUT_PERCENT = 5.0


def explores(source_id: str, subject: str, percent: float) -> bool:
    """The random slice sent without the model: the `percent` just above the holdout's."""
    place = bucket(source_id, subject) * 100
    return percent > 0 and percent <= place < 2 * percent


def scores(decision: Decision) -> str:
    gains = ", ".join(f"{arm} {gain:+.4g}" for arm, gain in decision.uplift.items())
    return f"best arm {decision.best_arm}; expected gain over the control: {gains}"


def randomised(delivery: GateDelivery) -> bool:
    """In the targeted send's holdout or its explore slice: chance decides, not the model."""
    notice = delivery.notice
    source_id = notice.campaign or notice.id
    if not source_id:  # explained before it exists: the draw is per notification
        return False
    subject, percent = delivery.subject, notice.holdout_percent
    return held_out(source_id, subject, percent) or explores(source_id, subject, percent)


def needs_model(delivery: GateDelivery) -> bool:
    """Whether the model must answer for this delivery's user before the gate decides."""
    return (
        delivery.notice.uplift_model is not None
        and not delivery.transactional
        and delivery.user_id is not None
        and not randomised(delivery)
    )


def uplift_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Suppress | Passed | None:
    notice = delivery.notice
    if notice.uplift_model is None:
        return None
    if delivery.transactional:
        return Passed("transactional: never decided by a model")
    if randomised(delivery):  # the holdout never gets here; the explore slice does
        return Passed("in the random slice sent without the model ({:g}%)", notice.holdout_percent)
    targeting = delivery.targeting
    if targeting is None or targeting.decision is None:
        problem = targeting.problem if targeting is not None else "not scored"
        return Passed(
            "model {} could not decide ({}): sent as without targeting", notice.uplift_model, problem
        )
    decision = targeting.decision
    cost = "the model's cost" if targeting.cost is None else f"cost {targeting.cost:g}"
    if not decision.send:
        return Suppress(REASON, f"model {targeting.model} at {cost}: not worth sending; {scores(decision)}")
    return Passed("model {} at {} sends {}; {}", targeting.model, cost, decision.best_arm, scores(decision))
