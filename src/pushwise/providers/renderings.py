"""Renderings shared by every delivery of one notification.

A campaign hands its provider thousands of dispatches carrying the same spec
object, and rendering it (JSON, limits, headers) costs more than the rest of a
send's Python. So each rendering is kept, keyed by the spec's identity and what
else it depends on (expiry, TTL), and the spec itself is kept beside it so its id
cannot be reused by another spec while the entry lives. The table is bounded:
when full it is emptied, the cheapest eviction, since specs change only when
notifications do.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from pushwise.domain.notification import NotificationSpec

Rendering = TypeVar("Rendering")


class PerNotification(Generic[Rendering]):
    def __init__(self, size: int = 256) -> None:
        if size < 1:
            raise ValueError("the table needs room for one rendering")
        self._size = size
        self._kept: dict[tuple[int, Hashable], tuple[NotificationSpec, Rendering]] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def rendered(
        self, spec: NotificationSpec, depends_on: Hashable, render: Callable[[], Rendering]
    ) -> Rendering:
        """The kept rendering of `spec` for `depends_on`, else `render()`'s (an exception is not kept)."""
        key = (id(spec), depends_on)
        kept = self._kept.get(key)
        if kept is not None and kept[0] is spec:
            return kept[1]
        rendering = render()
        if len(self._kept) >= self._size:
            self._kept.clear()
        self._kept[key] = (spec, rendering)
        return rendering
