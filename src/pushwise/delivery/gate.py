"""The gate as the worker meets it: one call per claimed batch, before anything is sent.

It reads the apps' policies, works out which parts of the state the batch needs, and
hands the batch to the store (`GateStates.screen`), which reads that state, asks the pure
`pushwise.domain.gate.batch.screen_batch` about every delivery and writes what the
decisions reserve, in one transaction (a read alone when nothing is reserved). It then
words what it decided for the deliveries it holds back: `deferred` (no attempt),
`suppressed`, `held_out` or `digested`, with a reason and a `gate` step on the trail; and,
for a digest's carrier, the digest's content. The worker records these with the rest of
the batch, so the outcome listeners count them (`pushwise_gate_decisions_total`) and the
receipt recorder sends `suppressed` receipts, from the same committed batch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from pushwise.delivery.digests import DigestWriter
from pushwise.delivery.render import Renderer
from pushwise.delivery.targeting import UpliftTargeting
from pushwise.delivery.worker import Handled, PlannedNotification
from pushwise.domain.china.vendors import VENDORS
from pushwise.domain.gate import (
    Decision,
    Defer,
    GateDelivery,
    GateNotice,
    HoldOut,
    Merge,
    Send,
    Step,
    Suppress,
    Targeting,
)
from pushwise.domain.gate.batch import explain_delivery, streams_of
from pushwise.domain.gate.digest import digestible
from pushwise.domain.gate.notice import notice_of
from pushwise.domain.gate.policy import GatePolicy
from pushwise.domain.notification import NotificationSpec
from pushwise.domain.states import DeliveryState
from pushwise.store.events import DeliveryEvent
from pushwise.store.gate_ledger import PartText
from pushwise.store.gate_state import GateStates, StateRequest
from pushwise.store.queue import ClaimedDelivery, DeliveryUpdate

_DECISIONS = {Defer: "defer", Suppress: "suppress", HoldOut: "hold_out", Merge: "merge"}


@dataclass(frozen=True, slots=True)
class Explanation:
    channel: str
    device_id: str | None
    decision: Decision
    steps: list[Step]
    targeting: Targeting | None = None  # the uplift model's answer, for a targeted notification


@dataclass(frozen=True, slots=True)
class Screened:
    """What the gate decided for a batch: the deliveries it holds back, and digest contents."""

    held: Mapping[int, Handled] = field(default_factory=dict)
    content: Mapping[int, PlannedNotification] = field(default_factory=dict)


class Gate:
    def __init__(
        self,
        states: GateStates,
        renderer: Renderer | None = None,
        digests: DigestWriter | None = None,
        targeting: UpliftTargeting | None = None,
    ) -> None:
        self._states = states
        self._renderer = renderer
        self._digests = digests
        self._targeting = targeting
        self._notices: OrderedDict[str, GateNotice] = OrderedDict()

    async def screen(
        self, claimed: Sequence[ClaimedDelivery], planned: Mapping[str, PlannedNotification], now: float
    ) -> Screened:
        items = [
            item for item in claimed if item.notification_id in planned
        ]  # the rest: failed by the worker
        if not items:
            return Screened()
        optimised = {
            item.app_id for item in items if planned[item.notification_id].spec.optimize_within_hours
        }
        policies = await self._states.policies({item.app_id for item in items}, optimised, now)
        deliveries = [self._delivery(item, planned[item.notification_id]) for item in items]
        if self._targeting is not None:
            deliveries = await self._targeting.targeted(deliveries)
        by_id = {delivery.id: delivery for delivery in deliveries}
        request, writes = state_request(deliveries, policies, now)
        texts = await self._texts(items, deliveries, planned, policies) if request.digests else {}
        result = await self._states.screen(deliveries, policies, request, now, texts, writes=writes)
        held: dict[int, Handled] = {}
        content: dict[int, PlannedNotification] = {}
        for item in items:
            decision = result.effects.decisions[item.id]
            if not isinstance(decision, Send):
                held[item.id] = _held(item, decision, now, by_id[item.id].targeting)
                continue
            parts = result.parts.get(item.id)
            if parts and self._digests is not None:
                spec = planned[item.notification_id]
                own = texts.get(item.id) or _text(spec.spec)
                rule = policies[item.app_id].digest
                worded = await self._digests.content(item, spec.spec, own, parts, rule)
                content[item.id] = replace(spec, spec=worded)
        return Screened(held, content)

    async def explain(
        self, app_id: str, user_id: str, device_id: str | None, spec: NotificationSpec, at: float, ttl: float
    ) -> Explanation | None:
        """What the gate would decide for this notification to this user at `at`, step by step.

        The same policies, state read and checks as a send, nothing reserved. A notification
        not yet accepted has no id, so a holdout under 100% cannot say which side the user
        falls on (it is drawn per notification). None: no such device of the user.
        """
        target = await self._states.target(app_id, user_id, device_id)
        if target is None:
            return None
        item = ClaimedDelivery(
            id=0,
            notification_id="",
            app_id=app_id,
            device_id=target.device_id,
            user_id=user_id,
            channel=target.channel,
            attempts=0,
            replays=0,
            accepted_at=at,
            token=None,
            subscription=None,
            device_active=True,
            timezone=target.timezone,
        )
        return await self._explained(item, PlannedNotification(spec, at, at + ttl), at)

    async def explain_delivery(
        self, app_id: str, notification_id: str, delivery_id: int, at: float
    ) -> Explanation | None:
        """What the gate would decide about this delivery if it came due at `at` (the dashboard's "why")."""
        known = await self._states.delivery(app_id, notification_id, delivery_id)
        if known is None:
            return None
        spec = NotificationSpec.from_dict(known.spec)
        return await self._explained(
            known.claimed, PlannedNotification(spec, known.created_at, known.expires_at), at
        )

    async def _explained(self, item: ClaimedDelivery, planned: PlannedNotification, at: float) -> Explanation:
        policies = await self._states.policies(
            {item.app_id}, {item.app_id} if planned.spec.optimize_within_hours else (), at
        )
        delivery = self._delivery(item, planned, cache=False)
        if self._targeting is not None:
            [delivery] = await self._targeting.targeted([delivery], cache=False)
        request, _writes = state_request([delivery], policies, at)
        state = await self._states.state_of(request, policies, at)
        decision, steps = explain_delivery(delivery, state, at)
        return Explanation(item.channel, item.device_id, decision, steps, delivery.targeting)

    def _delivery(
        self, item: ClaimedDelivery, planned: PlannedNotification, *, cache: bool = True
    ) -> GateDelivery:
        notice = self._notices.get(item.notification_id) if cache else None
        if notice is None:
            notice = notice_of(item.notification_id, planned.spec, planned.created_at, planned.expires_at)
        if cache:
            self._notices[item.notification_id] = notice
            if len(self._notices) > 10_000:
                self._notices.popitem(last=False)
        return GateDelivery(
            item.channel,
            planned.spec.category,
            planned.spec.priority == "transactional",
            id=item.id,
            notice=notice,
            app_id=item.app_id,
            user_id=item.user_id,
            device_id=item.device_id,
            timezone=item.timezone,
            attempts=item.attempts,
            last_reason=item.last_reason,
        )

    async def _texts(
        self,
        items: Sequence[ClaimedDelivery],
        deliveries: Sequence[GateDelivery],
        planned: Mapping[str, PlannedNotification],
        policies: Mapping[str, GatePolicy],
    ) -> dict[int, PartText]:
        """The words each digestible delivery would show (rendered for its user when templated)."""
        wanted = [
            item
            for item, delivery in zip(items, deliveries, strict=True)
            if (rule := policies[item.app_id].digest) is not None and digestible(delivery, rule)
        ]
        specs = {item.notification_id: planned[item.notification_id].spec for item in wanted}
        rendered = (
            await self._renderer.personalise(wanted, specs) if self._renderer is not None and wanted else {}
        )
        texts = {}
        for item in wanted:
            personal = rendered.get(item.id)
            spec = personal if isinstance(personal, NotificationSpec) else specs[item.notification_id]
            texts[item.id] = _text(spec)
        return texts


def _text(spec: NotificationSpec) -> PartText:
    content = spec.content
    return PartText(content.title, content.body, content.data, content.url)


def targeting_json(targeting: Targeting) -> dict[str, object]:
    """The model's answer as the trail and `gate/explain` show it."""
    decision = targeting.decision
    return {
        "model": targeting.model,
        "cost_per_send": targeting.cost,
        "best_arm": decision.best_arm if decision else None,
        "uplift": dict(decision.uplift) if decision else None,
        "send": decision.send if decision else None,
        "problem": targeting.problem or None,
    }


def state_request(
    deliveries: Sequence[GateDelivery], policies: Mapping[str, GatePolicy], now: float
) -> tuple[StateRequest, bool]:
    """Which parts of the state this batch needs, and whether its decisions reserve anything."""
    user_ids = {d.user_id for d in deliveries if d.user_id is not None}
    subjects = {d.subject for d in deliveries}
    ledger = [d for d in deliveries if policies[d.app_id].counts_sends or d.channel in VENDORS]
    fatigue = [policies[d.app_id].fatigue for d in deliveries if policies[d.app_id].fatigue is not None]
    digests = any(policies[d.app_id].digest is not None for d in deliveries)
    streams = {stream for d in deliveries for stream, _rate, _why in streams_of(d, policies[d.app_id])}
    holdouts = any(d.notice.holdout_percent for d in deliveries)
    request = StateRequest(
        user_ids=user_ids,
        subjects=subjects,
        keys={d.category for d in deliveries if d.category is not None},
        ledger_since=now - max(policies[d.app_id].lookback() for d in ledger) if ledger else None,
        feedback_since=now - max(model.lookback for model in fatigue if model) if fatigue else None,
        optimised={d.user_id for d in deliveries if d.notice.optimize_within and d.user_id},
        digests=digests,
        streams=streams,
        channels={d.channel for d in deliveries},
    )
    return request, bool(ledger or digests or streams or holdouts)


def _held(
    item: ClaimedDelivery,
    decision: Defer | Suppress | HoldOut | Merge,
    now: float,
    targeting: Targeting | None = None,
) -> Handled:
    kind = _DECISIONS[type(decision)]
    detail: dict[str, object] = {"decision": kind, "reason": decision.reason}
    if isinstance(decision, Suppress) and decision.detail:
        detail["detail"] = decision.detail
    if targeting is not None and targeting.decision is not None:
        detail["uplift"] = targeting_json(targeting)
    due_at: float | None = None
    if isinstance(decision, Defer):
        state, due_at = DeliveryState.DEFERRED, decision.until
        detail["until"] = decision.until
    elif isinstance(decision, Suppress):
        state = DeliveryState.SUPPRESSED
    elif isinstance(decision, HoldOut):
        state = DeliveryState.HELD_OUT
    else:
        state = DeliveryState.DIGESTED
        detail["carrier"] = decision.carrier  # the delivery whose push carries this one
    update = DeliveryUpdate(
        delivery_id=item.id,
        state=state,
        attempts=item.attempts,
        due_at=due_at,
        reason=decision.reason,
        decision=kind,
    )
    event = DeliveryEvent(item.notification_id, item.app_id, item.id, "gate", now, detail)
    # Past a phone maker's quota an installation's next route may still reach the phone today.
    cause = "quota_spent" if decision.reason.startswith("vendor_quota:") else None
    return Handled(update, (event,), route_cause=cause)
