"""Change signals for inboxes, fanned out in-process to open live streams.

A signal carries no data, only "this (app, user) inbox changed": each stream
then reads what is new from the database, which stays the one source of truth.
Writers in this process (the inbox provider, the read/unread/delete routes)
signal at once; writes by other processes reach streams through their periodic
poll, so a lost or absent signal only delays an update, never loses it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class InboxFeed:
    def __init__(self) -> None:
        self._listeners: defaultdict[tuple[str, str], set[asyncio.Event]] = defaultdict(set)

    def publish(self, app_id: str, user_id: str) -> None:
        for event in self._listeners.get((app_id, user_id), ()):
            event.set()

    @contextmanager
    def subscribe(self, app_id: str, user_id: str) -> Iterator[asyncio.Event]:
        """An event set on every change; the subscriber clears it before re-reading."""
        key = (app_id, user_id)
        event = asyncio.Event()
        self._listeners[key].add(event)
        try:
            yield event
        finally:
            listeners = self._listeners[key]
            listeners.discard(event)
            if not listeners:
                del self._listeners[key]
