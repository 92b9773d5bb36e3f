"""A claimed batch through the gate, one delivery after another, as one pure function.

The store reads the batch's state (and, where slots are reserved, locks its users) and
hands it here; each delivery is decided against the state as the deliveries before it
left it (a push let through counts against the next one of the same user), paced, and
turned into what the store writes in the same transaction: ledger rows for what goes out,
digest windows, carriers and parts, pace slots, and holdout assignments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from pushwise.domain.china.vendors import VENDORS, VendorClass
from pushwise.domain.gate.caps import vendor_class_of
from pushwise.domain.gate.decision import Step, decide, explain, within_expiry
from pushwise.domain.gate.digest import NO_CARRIER, digest_key, digestible
from pushwise.domain.gate.holdout import HOLDOUT_ARM, arm_of, experiment_source
from pushwise.domain.gate.model import (
    SEND,
    Decision,
    Defer,
    GateDelivery,
    Merge,
    OpenDigest,
    Send,
    SentPush,
    UserState,
)
from pushwise.domain.gate.pace import channel_stream, holds_slot, notification_stream, take_slot
from pushwise.domain.gate.policy import DEFAULT_POLICY, GatePolicy
from pushwise.domain.gate.preferences import preference_check
from pushwise.domain.gate.uplift import explores

NO_STATE = UserState()


@dataclass(frozen=True, slots=True)
class BatchState:
    """What the store read for a batch: users by subject, policies by app, paced streams."""

    users: Mapping[str, UserState] = field(default_factory=dict)
    policies: Mapping[str, GatePolicy] = field(default_factory=dict)
    paces: Mapping[str, float] = field(default_factory=dict)

    def user(self, subject: str) -> UserState:
        return self.users.get(subject, NO_STATE)

    def policy(self, app_id: str) -> GatePolicy:
        return self.policies.get(app_id, DEFAULT_POLICY)


@dataclass(frozen=True, slots=True)
class DigestPart:
    delivery_id: int
    carrier: int
    notification_id: str
    app_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class DigestWindow:
    app_id: str
    user_id: str
    key: str
    carrier: int
    closes_at: float


@dataclass(slots=True)
class Effects:
    """The decisions, and what the store writes with them."""

    decisions: dict[int, Decision] = field(default_factory=dict)
    sends: list[tuple[str, str, SentPush]] = field(default_factory=list)  # (app, subject, push)
    digests: dict[tuple[str, str], DigestWindow] = field(default_factory=dict)
    parts: list[DigestPart] = field(default_factory=list)
    paces: dict[str, float] = field(default_factory=dict)
    assignments: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)


def is_marketing(delivery: GateDelivery, policy: GatePolicy) -> bool:
    return delivery.channel not in VENDORS or vendor_class_of(delivery, policy) is VendorClass.MARKETING


def streams_of(delivery: GateDelivery, policy: GatePolicy) -> list[tuple[str, float, str]]:
    """The paced streams a delivery goes through: (stream, per minute, reason when it waits)."""
    notice, channel = delivery.notice, delivery.channel
    found = []
    if notice.rate_per_minute:
        found.append((notification_stream(notice.id), notice.rate_per_minute, "rate:notification"))
    channel_rate = policy.max_per_minute.get(channel)
    if channel_rate:
        found.append((channel_stream(delivery.app_id, channel), channel_rate, f"rate:{channel}"))
    return found


def paced(
    delivery: GateDelivery, policy: GatePolicy, paces: dict[str, float], now: float
) -> tuple[Decision, Step]:
    """A delivery the checks let through takes a slot in each of its paced streams."""
    streams = streams_of(delivery, policy)
    if not streams:
        return SEND, Step("rate", "pass", "not paced")
    if holds_slot(delivery.last_reason):
        return SEND, Step("rate", "pass", "keeps the slot it waited for")
    latest, reason = now, ""
    for stream, per_minute, why in streams:
        slot = take_slot(paces.get(stream), per_minute, now)
        paces[stream] = slot.next_free
        if slot.at > latest:
            latest, reason = slot.at, why
    if latest <= now:
        return SEND, Step("rate", "pass", "a slot is free now")
    decision = within_expiry(Defer(latest, reason), delivery)
    return decision, Step("rate", "defer" if isinstance(decision, Defer) else "suppress", f"{reason}")


def counted_push(delivery: GateDelivery, policy: GatePolicy, now: float) -> SentPush | None:
    """The ledger row for a push going out now, if anything counts it."""
    capped = policy.counts_sends and not delivery.transactional
    if not capped and delivery.channel not in VENDORS:
        return None
    notice = delivery.notice
    return SentPush(
        delivery.id,
        notice.id,
        now,
        delivery.channel,
        delivery.device_id,
        delivery.category,
        notice.campaign,
        notice.content_key,
        notice.collapse_key,
        is_marketing(delivery, policy),
        capped,
    )


def _after_send(user: UserState, push: SentPush) -> UserState:
    return replace(
        user,
        sent=(*user.sent, push) if push.capped else user.sent,
        vendor_sent=(*user.vendor_sent, push) if push.channel in VENDORS else user.vendor_sent,
    )


def _digest_effects(
    delivery: GateDelivery,
    decision: Decision,
    user: UserState,
    policy: GatePolicy,
    effects: Effects,
    now: float,
) -> UserState:
    rule = policy.digest
    if rule is None or delivery.user_id is None or not digestible(delivery, rule) or delivery.attempts:
        return user
    key = digest_key(delivery)
    found = user.digests.get(key)
    if isinstance(decision, Merge):
        effects.parts.append(
            DigestPart(delivery.id, decision.carrier, delivery.notice.id, delivery.app_id, delivery.user_id)
        )
        opened = replace(found, parts=found.parts + 1) if found is not None else None
    elif isinstance(decision, Defer) and decision.reason == "digest" and found and not found.carrier:
        opened = OpenDigest(delivery.id, key, found.closes_at)  # the window's first to wait: its carrier
    elif isinstance(decision, Send):
        opened = OpenDigest(NO_CARRIER, key, now + rule.window_seconds)
    else:
        return user
    if opened is None:
        return user
    effects.digests[(delivery.subject, key)] = DigestWindow(
        delivery.app_id, delivery.subject, key, opened.carrier, opened.closes_at
    )
    return replace(user, digests={**user.digests, key: opened})


def _assign(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, effects: Effects, now: float
) -> None:
    """Record which arm of a holdout the user is in, once their preferences let them in at all.

    A send targeted by an uplift model records only its randomised users: the holdout and
    the equal slice sent without the model (`uplift.py`); the rest were chosen by the model.
    """
    percent = delivery.notice.holdout_percent
    if not percent or delivery.user_id is None or preference_check(delivery, user, policy, now) is not None:
        return
    kind, source_id = experiment_source(delivery)
    arm = arm_of(source_id, delivery.user_id, percent)
    targeted = delivery.notice.uplift_model is not None and not delivery.transactional
    if targeted and arm != HOLDOUT_ARM and not explores(source_id, delivery.user_id, percent):
        return
    effects.assignments.setdefault((delivery.app_id, kind, source_id), {})[delivery.user_id] = arm


def screen_batch(deliveries: Sequence[GateDelivery], state: BatchState, now: float) -> Effects:
    """Every delivery's decision, in id order, against the state the ones before it left."""
    effects = Effects()
    users = dict(state.users)
    paces = dict(state.paces)
    # What a decision leaves behind matters only to a later delivery of the same user.
    ahead = Counter(delivery.subject for delivery in deliveries)
    for delivery in sorted(deliveries, key=lambda d: d.id):
        ahead[delivery.subject] -= 1
        policy = state.policy(delivery.app_id)
        user = users.get(delivery.subject, NO_STATE)
        decision = decide(delivery, user, policy, now)
        if isinstance(decision, Send):
            decision, _step = paced(delivery, policy, paces, now)
        _assign(delivery, user, policy, effects, now)
        if isinstance(decision, Send):
            push = counted_push(delivery, policy, now)
            if push is not None:
                effects.sends.append((delivery.app_id, delivery.subject, push))
                if ahead[delivery.subject]:
                    user = _after_send(user, push)
        user = _digest_effects(delivery, decision, user, policy, effects, now)
        users[delivery.subject] = user
        effects.decisions[delivery.id] = decision
    effects.paces = {stream: at for stream, at in paces.items() if state.paces.get(stream) != at}
    return effects


def explain_delivery(delivery: GateDelivery, state: BatchState, now: float) -> tuple[Decision, list[Step]]:
    """What `screen_batch` would decide for this one delivery, with every check's finding."""
    policy = state.policy(delivery.app_id)
    decision, steps = explain(delivery, state.user(delivery.subject), policy, now)
    if isinstance(decision, Send):
        decision, step = paced(delivery, policy, dict(state.paces), now)
        steps.append(step)
    else:
        steps.append(Step("rate", "not_reached", ""))
    return decision, steps
