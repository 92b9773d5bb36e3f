"""Which provider sends an app's deliveries on a channel.

Providers hold pooled connections and cached credentials, so they are built once
per (app, channel) and reused. Stored credentials are re-read every few seconds;
when they changed, the provider is rebuilt and the old one closed, so a key
rotation takes effect without a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pushwise.domain.clock import Clock
from pushwise.providers.base import Provider
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
    ) -> None:
        self._load = load
        self._factories = factories
        self._clock = clock
        self._recheck = recheck_seconds
        self._entries: dict[tuple[str, str], _Entry] = {}

    async def get(self, app_id: str, channel: str) -> Provider | None:
        key = (app_id, channel)
        now = self._clock.now()
        entry = self._entries.get(key)
        if entry is not None and now - entry.checked_at < self._recheck:
            return entry.provider
        stored = await self._load(app_id, channel)
        version = stored.updated_at if stored else None
        if entry is not None and entry.version == version:
            entry.checked_at = now
            return entry.provider
        if entry is not None and entry.provider is not None:
            await entry.provider.close()
        factory = self._factories.get(channel)
        provider = factory(stored.public, stored.secret) if stored is not None and factory else None
        self._entries[key] = _Entry(provider, version, now)
        return provider

    async def close(self) -> None:
        for entry in self._entries.values():
            if entry.provider is not None:
                await entry.provider.close()
        self._entries.clear()
