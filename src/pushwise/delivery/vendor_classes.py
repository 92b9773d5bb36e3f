"""Which class a push goes as to a phone maker, from the app's categories, read every few seconds.

A category's `vendor_class` and per-vendor fields decide (`pushwise.domain.china.vendors.class_for`);
the adapters and the quota chart ask here per send, and the app's categories are read at
most once per `ttl_seconds`, never per delivery.
"""

from __future__ import annotations

from pushwise.domain.china.vendors import CategoryClass, MessageClass, category_class, class_for
from pushwise.domain.clock import Clock
from pushwise.store.categories import CategoryRepository

TTL_SECONDS = 5.0


class VendorClasses:
    def __init__(
        self, categories: CategoryRepository, clock: Clock, *, ttl_seconds: float = TTL_SECONDS
    ) -> None:
        self._categories = categories
        self._clock = clock
        self._ttl = ttl_seconds
        self._apps: dict[str, tuple[float, dict[str, CategoryClass]]] = {}

    async def message_class(
        self, vendor: str, app_id: str, category: str | None, priority: str
    ) -> MessageClass:
        return class_for(vendor, category, priority, await self._of(app_id) if category else {})

    async def _of(self, app_id: str) -> dict[str, CategoryClass]:
        now = self._clock.now()
        cached = self._apps.get(app_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        classes = {c.key: category_class(c.config) for c in await self._categories.of_app(app_id)}
        self._apps[app_id] = (now + self._ttl, classes)
        return classes
