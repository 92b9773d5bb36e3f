"""Moving a delivery to its installation's next route, for a whole batch at once.

When the route a delivery took cannot deliver (its token died, the vendor's daily
quota is spent, its circuit is open, its device was pruned after planning), the same
delivery goes on to the installation's next active device in the app's
`android_routes` order, due now: one delivery per installation, never two. The
worker hands over the batch after sending; this reads every candidate's installation
in one query and each app's routes (cached a few seconds), and rewrites the updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from pushwise.domain.china.routes import next_route
from pushwise.domain.clock import Clock
from pushwise.domain.states import DeliveryState
from pushwise.store.events import DeliveryEvent
from pushwise.store.policies import PolicyRepository
from pushwise.store.queue import ClaimedDelivery
from pushwise.store.routes import InstallationRepository

if TYPE_CHECKING:
    from pushwise.delivery.worker import Handled

ROUTES_TTL_SECONDS = 5.0


class InstallationRouter:
    def __init__(
        self, installations: InstallationRepository, policies: PolicyRepository, clock: Clock
    ) -> None:
        self._installations = installations
        self._policies = policies
        self._clock = clock
        self._routes: dict[str, tuple[float, tuple[str, ...]]] = {}

    async def reroute(self, claimed: Sequence[ClaimedDelivery], handled: list[Handled]) -> list[Handled]:
        candidates = [
            index
            for index, (item, result) in enumerate(zip(claimed, handled, strict=True))
            if result.route_cause is not None and item.device_id is not None
        ]
        if not candidates:
            return handled
        installations = await self._installations.siblings([claimed[i].device_id or "" for i in candidates])
        if not installations:
            return handled
        routes = await self._routes_of({claimed[i].app_id for i in candidates})
        now = self._clock.now()
        rerouted = list(handled)
        for index in candidates:
            item, result = claimed[index], handled[index]
            found = installations.get(item.device_id or "")
            target = next_route(found[0], found[1], routes[item.app_id]) if found else None
            if target is None:
                continue
            update = replace(
                result.update,
                state=DeliveryState.QUEUED,
                due_at=now,
                reroute_to=(target.device_id, target.channel),
            )
            detail = {
                "from": item.channel,
                "to": target.channel,
                "device_id": target.device_id,
                "cause": result.route_cause,
                "reason": result.update.reason,
            }
            event = DeliveryEvent(item.notification_id, item.app_id, item.id, "route", now, detail)
            rerouted[index] = replace(result, update=update, events=(*result.events, event))
        return rerouted

    async def _routes_of(self, app_ids: set[str]) -> dict[str, tuple[str, ...]]:
        now = self._clock.now()
        stale = [app_id for app_id in app_ids if self._routes.get(app_id, (0.0, ()))[0] <= now]
        if stale:
            for app_id, routes in (await self._policies.routes_of(stale)).items():
                self._routes[app_id] = (now + ROUTES_TTL_SECONDS, routes)
        return {app_id: self._routes[app_id][1] for app_id in app_ids}
