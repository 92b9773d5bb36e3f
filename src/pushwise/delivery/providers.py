"""Which provider sends an app's deliveries on a channel.

Providers hold pooled connections and cached credentials, so they are built once
per (app, channel) and reused. Stored credentials are re-read every few seconds;
when they changed, the provider is rebuilt and the old one closed, so a key
rotation takes effect without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pushwise.domain.clock import Clock
from pushwise.providers.base import Provider, open_connections
from pushwise.store.credentials import StoredCredentials

# (public config, opened secret) -> provider
ProviderFactory = Callable[[dict[str, Any], dict[str, Any]], Provider]


CredentialLoader = Callable[[str, str], Awaitable[StoredCredentials | None]]


@dataclass
class _Entry:
    provider: Provider | None
    version: float | None
    checked_at: float


class ProviderRegistry:
    def __init__(
        self,
        load: CredentialLoader,
        factories: Mapping[str, ProviderFactory],
        clock: Clock,
        *,
        recheck_seconds: float = 5.0,
        retire_after_seconds: float = 30.0,
    ) -> None:
        self._retire_after = retire_after_seconds
        self._load = load
        self._factories = factories
        self._clock = clock
        self._recheck = recheck_seconds
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._retiring: set[asyncio.Task[None]] = set()

    async def get(self, app_id: str, channel: str) -> Provider | None:
        key = (app_id, channel)
        entry = self._entries.get(key)
        if entry is not None and self._clock.now() - entry.checked_at < self._recheck:
            return entry.provider
        # One look-up per key at a time: a batch of 500 deliveries must not build 500 providers.
        async with self._locks.setdefault(key, asyncio.Lock()):
            entry = self._entries.get(key)
            now = self._clock.now()
            if entry is not None and now - entry.checked_at < self._recheck:
                return entry.provider
            return await self._refresh(key, entry, now)

    async def _refresh(self, key: tuple[str, str], entry: _Entry | None, now: float) -> Provider | None:
        stored = await self._load(*key)
        version = stored.updated_at if stored else None
        if entry is not None and entry.version == version:
            entry.checked_at = now
            return entry.provider
        if entry is not None and entry.provider is not None:
            self._retire(entry.provider)
        factory = self._factories.get(key[1])
        provider = factory(stored.public, stored.secret) if stored is not None and factory else None
        self._entries[key] = _Entry(provider, version, now)
        return provider

    def connections(self) -> dict[tuple[str, str], int]:
        """Open connections per (app, channel) of the providers in use (retiring ones are closing)."""
        return {
            key: open_connections(entry.provider)
            for key, entry in self._entries.items()
            if entry.provider is not None
        }

    def _retire(self, provider: Provider) -> None:
        """Close a replaced provider once the sends already using it have had time to finish."""

        async def close_later() -> None:
            await asyncio.sleep(self._retire_after)
            await provider.close()

        task = asyncio.create_task(close_later())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        for task in list(self._retiring):
            task.cancel()
        for entry in self._entries.values():
            if entry.provider is not None:
                await entry.provider.close()
        self._entries.clear()
