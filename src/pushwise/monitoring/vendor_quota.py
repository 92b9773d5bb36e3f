"""Counting each vendor's daily marketing use, as an outcome listener.

A vendor's marketing budget is per device and Shanghai day; the dashboard shows how
close each vendor's budget is to spent. Each committed batch's vendor deliveries are
classed as the adapters class them (from the notification's category and the app's
categories), counted in memory, and added to the store at most every few seconds.
A process dying in between loses a few seconds of counts, as with the metrics.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from pushwise.delivery.worker import Recorded
from pushwise.domain.china.vendors import VendorClass, is_vendor, vendor_day
from pushwise.domain.clock import Clock
from pushwise.domain.states import DeliveryState
from pushwise.providers.china.base import ClassLookup
from pushwise.store.notifications import NotificationRepository
from pushwise.store.vendor_quota import VendorQuotaUse

log = logging.getLogger(__name__)
FLUSH_SECONDS = 2.0


class VendorQuotaTally:
    def __init__(
        self, notifications: NotificationRepository, store: VendorQuotaUse, clock: Clock, classes: ClassLookup
    ) -> None:
        self._notifications = notifications
        self._classes = classes
        self._store = store
        self._clock = clock
        self._counts: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self._flushed_at = float("-inf")

    async def recorded(self, batch: Sequence[Recorded]) -> None:
        counted = [
            r
            for r in batch
            if is_vendor(r.claimed.channel)
            and (r.update.quota_spent or r.update.state is DeliveryState.DELIVERED)
        ]
        if counted:
            specs = await self._notifications.specs(sorted({r.claimed.notification_id for r in counted}))
            for item in counted:
                row = specs.get(item.claimed.notification_id)
                spec = row.spec if row is not None else {}
                key = (item.claimed.app_id, item.claimed.channel, vendor_day(item.at))
                if item.update.quota_spent:
                    self._counts[key][1] += 1
                    continue
                claimed = item.claimed
                priority = spec.get("priority") or "normal"
                klass = await self._classes(claimed.channel, claimed.app_id, spec.get("category"), priority)
                if klass.vendor_class is VendorClass.MARKETING:
                    self._counts[key][0] += 1
        if self._counts and self._clock.now() - self._flushed_at >= FLUSH_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        counts, self._counts = self._counts, defaultdict(lambda: [0, 0])
        self._flushed_at = self._clock.now()
        try:
            await self._store.add({key: (used, spent) for key, (used, spent) in counts.items()})
        except Exception:  # the chart must never stop deliveries: keep the counts for the next time
            log.exception("could not write vendor quota use")
            for key, (used, spent) in counts.items():
                self._counts[key][0] += used
                self._counts[key][1] += spent
