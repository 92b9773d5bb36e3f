"""Fallback channels, as an outcome listener: after a user's last delivery gives up, plan the next channel.

It runs after the outcomes are committed, so it sees the user's deliveries as they
are stored. Planning is idempotent (see `pushwise.store.fallback`): running it again
for the same outcomes plans nothing new. A step's `fallback` receipts are written
in its transaction, so the follow-up sweep re-planning a step a crash lost also
writes its receipts.
"""

from __future__ import annotations

from collections.abc import Sequence

from pushwise.delivery.receipts import ReceiptRecorder
from pushwise.delivery.worker import Recorded
from pushwise.domain.clock import Clock
from pushwise.domain.notification import NotificationSpec
from pushwise.domain.states import DeliveryState, lane_for
from pushwise.store.fallback import FallbackRepository, FallbackTaken, Unreached
from pushwise.store.notifications import NotificationRepository

_GIVING_UP = frozenset({DeliveryState.FAILED, DeliveryState.EXPIRED})


class FallbackPlanner:
    def __init__(
        self,
        notifications: NotificationRepository,
        fallback: FallbackRepository,
        clock: Clock,
        *,
        receipts: ReceiptRecorder | None = None,
    ) -> None:
        self._notifications = notifications
        self._fallback = fallback
        self._clock = clock
        self._receipts = receipts

    async def recorded(self, batch: Sequence[Recorded]) -> None:
        await self.plan(self.candidates(batch))

    @staticmethod
    def candidates(batch: Sequence[Recorded]) -> set[tuple[str, str, str]]:
        """(notification, app, user) whose delivery just gave up."""
        return {
            (r.claimed.notification_id, r.claimed.app_id, r.claimed.user_id)
            for r in batch
            if r.update.state in _GIVING_UP and r.claimed.user_id is not None
        }

    async def plan(self, candidates: set[tuple[str, str, str]]) -> list[FallbackTaken]:
        if not candidates:
            return []
        rows = await self._notifications.specs(sorted({nid for nid, _, _ in candidates}))
        specs = {nid: NotificationSpec.from_dict(row.spec) for nid, row in rows.items()}
        taken = []
        for notification_id, app_id, user_id in sorted(candidates):
            spec = specs.get(notification_id)
            if spec is None or not spec.fallback.channels:
                continue
            user = Unreached(
                notification_id, app_id, user_id, spec.fallback.channels, lane_for(spec.priority)
            )
            receipts = await self._receipts.fallback_receipts(app_id) if self._receipts is not None else None
            step = await self._fallback.advance(user, self._clock.now(), receipts=receipts)
            if step is not None:
                taken.append(step)
        return taken
