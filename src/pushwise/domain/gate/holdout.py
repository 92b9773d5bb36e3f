"""Holdouts: a share of a notification's users who are recorded but never sent it.

Which users are held out is a function of the notification (or its campaign, so a
campaign's holdout stays the same users on every send) and the user alone: every
device of a user lands on the same side, on every worker, in `explain` as in the
engine. The store records each user's arm as an experiment assignment
(`store/experiments.py`), so their behaviour can be compared later.
"""

from __future__ import annotations

from pushwise.domain.content.variants import HOLDOUT, held_out
from pushwise.domain.gate.model import GateDelivery, HoldOut, Passed, UserState
from pushwise.domain.gate.policy import GatePolicy

HOLDOUT_ARM = HOLDOUT
SENT_ARM = "sent"
ARMS = (SENT_ARM, HOLDOUT_ARM)


def experiment_source(delivery: GateDelivery) -> tuple[str, str]:
    """Which experiment a holdout records into: the campaign's when there is one."""
    notice = delivery.notice
    return ("campaign", notice.campaign) if notice.campaign else ("notification", notice.id)


def arm_of(source_id: str, subject: str, percent: float) -> str:
    """The same stable draw as a template's variants (`content/variants.py`)."""
    return HOLDOUT_ARM if held_out(source_id, subject, percent) else SENT_ARM


def holdout_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> HoldOut | Passed:
    percent = delivery.notice.holdout_percent
    if not percent:
        return Passed("no holdout")
    subject = delivery.subject
    _kind, source_id = experiment_source(delivery)
    if not source_id:  # explained before it exists: the draw is per notification
        if percent >= 100:
            return HoldOut()
        return Passed("{:g}% of users are held out, drawn when the notification is accepted", percent)
    if arm_of(source_id, subject, percent) == HOLDOUT_ARM:
        return HoldOut()
    return Passed("in the sent arm ({:g}%)", 100 - percent)
