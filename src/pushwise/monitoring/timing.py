"""Provider request latency: a thin wrapper around each provider the registry builds.

It measures real elapsed time (not the injected clock): this is what the provider
costs, whatever clock the engine runs on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from pushwise.delivery.providers import ProviderFactory
from pushwise.domain.outcomes import Outcome
from pushwise.providers.base import Dispatch, Provider, open_connections


class RequestTimer(Protocol):
    def provider_request(self, app_id: str, channel: str, seconds: float) -> None: ...


class TimedProvider:
    def __init__(self, inner: Provider, timer: RequestTimer) -> None:
        self.channel = inner.channel
        self._inner = inner
        self._timer = timer

    async def send(self, dispatch: Dispatch) -> Outcome:
        started = time.perf_counter()
        try:
            return await self._inner.send(dispatch)
        finally:
            self._timer.provider_request(dispatch.app_id, dispatch.channel, time.perf_counter() - started)

    def connections(self) -> int:
        return open_connections(self._inner)

    async def close(self) -> None:
        await self._inner.close()


def timed_factories(
    factories: Mapping[str, ProviderFactory], timer: RequestTimer
) -> dict[str, ProviderFactory]:
    def wrap(factory: ProviderFactory) -> ProviderFactory:
        def build(public: dict[str, Any], secret: dict[str, Any]) -> Provider:
            return TimedProvider(factory(public, secret), timer)

        return build

    return {channel: wrap(factory) for channel, factory in factories.items()}
