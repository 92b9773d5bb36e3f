"""Fallback channels, as an outcome listener: after a user's last delivery gives up, plan the next channel.

It runs after the outcomes are committed, so it sees the user's deliveries as they
are stored. Planning is idempotent (see `pushwise.store.fallback`): running it again
for the same outcomes plans nothing new.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from pushwise.delivery.worker import Recorded
from pushwise.domain.clock import Clock
from pushwise.domain.notification import NotificationSpec
from pushwise.domain.states import DeliveryState, lane_for
from pushwise.store.fallback import FallbackRepository, FallbackTaken, Unreached
from pushwise.store.notifications import NotificationRepository

_GIVING_UP = frozenset({DeliveryState.FAILED, DeliveryState.EXPIRED})

# (app id, the step taken): e.g. a `fallback` delivery receipt.
FallbackHook = Callable[[str, FallbackTaken], Awaitable[None]]


class FallbackPlanner:
    def __init__(
        self,
        notifications: NotificationRepository,
        fallback: FallbackRepository,
        clock: Clock,
        *,
        on_fallback: FallbackHook | None = None,
    ) -> None:
        self._notifications = notifications
        self._fallback = fallback
        self._clock = clock
        self._on_fallback = on_fallback

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
            step = await self._fallback.advance(user, self._clock.now())
            if step is not None:
                taken.append(step)
                if self._on_fallback is not None:
                    await self._on_fallback(app_id, step)
        return taken
