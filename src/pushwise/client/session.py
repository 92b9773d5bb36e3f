"""What `Client` and `AsyncClient` share: credentials, retries, time, randomness, answers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TypeVar

import httpx

import pushwise
from pushwise.client.calls import Call, Prepared
from pushwise.client.errors import PushwiseConnectionError, error_of
from pushwise.client.retrying import Retries, RetryPlan
from pushwise.domain.clock import Clock, SystemClock

AnswerT = TypeVar("AnswerT")


class SessionCore:
    def __init__(
        self, api_key: str, retries: Retries | None, clock: Clock | None, rng: random.Random | None
    ) -> None:
        self.headers = {
            "authorization": f"Bearer {api_key}",
            "user-agent": f"pushwise-python/{pushwise.__version__}",
        }
        self._retries = retries or Retries()
        self._clock = clock or SystemClock()
        # Idempotency keys must not repeat across processes: the system's randomness unless a test
        # injects a seeded source.
        self._rng = rng or random.SystemRandom()

    def plan(self, prepared: Prepared) -> RetryPlan:
        return RetryPlan(self._retries, retry_safe=prepared.retry_safe, clock=self._clock, rng=self._rng)

    def new_key(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float


def answer_or_wait(response: httpx.Response, call: Call[AnswerT], plan: RetryPlan) -> AnswerT | Wait:
    """The answer, or how long to wait before trying again; raises the error when giving up."""
    if response.is_success:
        return call.read(response)
    wait = plan.wait_after_answer(response.status_code, response.headers.get("retry-after"))
    if wait is None:
        raise error_of(response)
    return Wait(wait)


def wait_after(error: httpx.TransportError, plan: RetryPlan) -> float:
    """How long to wait after a lost connection; raises when giving up."""
    never_connected = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
    wait = plan.wait_after_lost_connection(reached_server=not never_connected)
    if wait is None:
        raise PushwiseConnectionError(f"{type(error).__name__}: {error}") from error
    return wait
