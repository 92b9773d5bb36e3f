"""`Client`: the blocking client, for scripts and synchronous backends."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

import httpx

from pushwise.client.calls import Call, Prepared, SyncSession
from pushwise.client.endpoints import Endpoints
from pushwise.client.retrying import Retries
from pushwise.client.session import SessionCore, Wait, answer_or_wait, wait_after
from pushwise.domain.clock import Clock

AnswerT = TypeVar("AnswerT")


class Client(Endpoints, SyncSession):
    """`Client(base_url, api_key)`; every API v1 call is a method (see `Endpoints`).

    `transport`, `clock`, `sleep` and `rng` are seams for tests: an `httpx.MockTransport`, a
    `ManualClock` with a `sleep` that advances it, a seeded `random.Random`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retries: Retries | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._core = SessionCore(api_key, retries, clock, rng)
        self._http = httpx.Client(
            base_url=base_url, headers=self._core.headers, timeout=timeout, transport=transport
        )
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _new_key(self) -> str:
        return self._core.new_key()

    def _run(self, prepared: Prepared, call: Call[AnswerT]) -> AnswerT:
        plan = self._core.plan(prepared)
        while True:
            try:
                response = self._http.request(
                    prepared.method,
                    prepared.path,
                    params=prepared.params,
                    json=prepared.body,
                    headers=prepared.headers,
                )
            except httpx.TransportError as error:
                self._sleep(wait_after(error, plan))
                continue
            outcome = answer_or_wait(response, call, plan)
            if not isinstance(outcome, Wait):
                return outcome
            self._sleep(outcome.seconds)
