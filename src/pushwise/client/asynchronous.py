"""`AsyncClient`: the same calls as `Client`, as coroutines, for asyncio backends."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

import httpx

from pushwise.client.calls import AsyncSession, Call, Prepared
from pushwise.client.endpoints import Endpoints
from pushwise.client.retrying import Retries
from pushwise.client.session import SessionCore, Wait, answer_or_wait, wait_after
from pushwise.domain.clock import Clock

AnswerT = TypeVar("AnswerT")


class AsyncClient(Endpoints, AsyncSession):
    """`async with AsyncClient(base_url, api_key) as pushwise:`; seams as for `Client`, with an
    async `sleep`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retries: Retries | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._core = SessionCore(api_key, retries, clock, rng)
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=self._core.headers, timeout=timeout, transport=transport
        )
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    def _new_key(self) -> str:
        return self._core.new_key()

    async def _run(self, prepared: Prepared, call: Call[AnswerT]) -> AnswerT:
        plan = self._core.plan(prepared)
        while True:
            try:
                response = await self._http.request(
                    prepared.method,
                    prepared.path,
                    params=prepared.params,
                    json=prepared.body,
                    headers=prepared.headers,
                )
            except httpx.TransportError as error:
                await self._sleep(wait_after(error, plan))
                continue
            outcome = answer_or_wait(response, call, plan)
            if not isinstance(outcome, Wait):
                return outcome
            await self._sleep(outcome.seconds)
