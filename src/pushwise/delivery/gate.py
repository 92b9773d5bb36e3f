"""The gate as the worker meets it: one call per claimed batch, before anything is sent.

It reads the batch's user state in one query (`GateStates`), asks the pure
`pushwise.domain.gate.decide` about every delivery, and words what it decided for the
deliveries it holds back: a suppressed state with its reason (or a deferral, which is no
attempt), and a `gate` step on the delivery's trail. The worker records these with the
rest of the batch, so the outcome listeners count them (`pushwise_gate_decisions_total`)
and the receipt recorder sends `suppressed` receipts, from the same committed batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pushwise.delivery.worker import Handled, PlannedNotification
from pushwise.domain.gate import Defer, GateDelivery, Send, Suppress, decide
from pushwise.domain.progress import Progress, held_until
from pushwise.domain.states import DeliveryState
from pushwise.store.events import DeliveryEvent
from pushwise.store.gate_state import GateStates
from pushwise.store.queue import ClaimedDelivery, DeliveryUpdate


class Gate:
    def __init__(self, states: GateStates) -> None:
        self._states = states

    async def screen(
        self, claimed: Sequence[ClaimedDelivery], planned: Mapping[str, PlannedNotification], now: float
    ) -> dict[int, Handled]:
        """The deliveries of `claimed` not to send now, by id, each with what to record for it."""
        keys = {p.spec.category for p in planned.values() if p.spec.category is not None}
        state = await self._states.read(
            {item.app_id for item in claimed},
            {item.user_id for item in claimed if item.user_id is not None},
            keys,
            {item.channel for item in claimed},
        )
        held: dict[int, Handled] = {}
        # What the gate needs of a delivery is the same for all of a notification's on one channel.
        facts: dict[tuple[str, str], GateDelivery] = {}
        for item in claimed:
            notification = planned.get(item.notification_id)
            if notification is None:  # the worker fails it: nothing to decide about
                continue
            delivery = facts.get((item.notification_id, item.channel))
            if delivery is None:
                spec = notification.spec
                delivery = GateDelivery(item.channel, spec.category, spec.priority == "transactional")
                facts[(item.notification_id, item.channel)] = delivery
            decision = decide(delivery, state.user(item.user_id), state.policy(item.app_id), now)
            if not isinstance(decision, Send):
                held[item.id] = _held(item, decision, now)
        return held


def _held(item: ClaimedDelivery, decision: Defer | Suppress, now: float) -> Handled:
    detail: dict[str, str | float] = {"reason": decision.reason}
    if isinstance(decision, Suppress):
        kind, progress = "suppress", Progress(DeliveryState.SUPPRESSED, None, decision.reason)
    else:
        kind, progress = "defer", held_until(decision.until, item.attempts, decision.reason)
        detail["until"] = decision.until
    detail["decision"] = kind
    update = DeliveryUpdate(
        delivery_id=item.id,
        state=progress.state,
        attempts=item.attempts,
        due_at=progress.due_at,
        reason=progress.reason,
        decision=kind,
    )
    event = DeliveryEvent(item.notification_id, item.app_id, item.id, "gate", now, detail)
    return Handled(update, (event,))
