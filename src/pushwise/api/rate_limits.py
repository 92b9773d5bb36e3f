"""Rate limits on the API: per key, per client address, and on dashboard log-ins.

Every decision is made in memory (`RequestBudgets`, no I/O on the request path); `BudgetSync`
shares the buckets with the other API processes through the database in the background, so a
cluster holds one budget per caller (see `pushwise.domain.request_budget` for the bound).

- per key (`PUSHWISE_API_RATE_LIMIT` requests per second, burst twice that): checked once the key
  is known, in `current_principal`, so every authenticated route is covered;
- per address (`PUSHWISE_API_RATE_LIMIT_PER_IP`): an ASGI middleware in front of everything, so
  floods without a valid key, or with many keys, are refused before any parsing or lookup;
- dashboard log-ins (`PUSHWISE_DASHBOARD_LOGINS_PER_MINUTE` per address): slows key guessing.

A refusal is a 429 with the JSON error body and `Retry-After` in whole seconds, rounded up, so a
client that waits as told is served (unless it spent elsewhere meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import math
from contextlib import suppress
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from pushwise.api.errors import ApiError, send_error
from pushwise.domain.clock import Clock
from pushwise.domain.request_budget import BudgetRate, RequestBudgets
from pushwise.store.request_budgets import SharedBudgets

log = logging.getLogger(__name__)

PRUNE_EVERY = 120  # syncs between deletions of idle shared buckets


def _rate(per_second: float) -> BudgetRate | None:
    return BudgetRate.doubled(per_second) if per_second > 0 else None


@dataclass(frozen=True, slots=True)
class RateLimitOptions:
    """Requests per second per key and per address (0: no limit), log-ins per minute per address."""

    per_key: float
    per_address: float
    logins_per_minute: float


class RateLimits:
    def __init__(self, budgets: RequestBudgets, options: RateLimitOptions) -> None:
        self.budgets = budgets
        self._per_key = _rate(options.per_key)
        self._per_address = _rate(options.per_address)
        logins = options.logins_per_minute
        self._logins = BudgetRate(logins / 60.0, max(1.0, 2 * logins)) if logins > 0 else None

    @property
    def limits_addresses(self) -> bool:
        return self._per_address is not None

    def check_key(self, key_id: str | None) -> None:
        """Raise a 429 if this key (None: the admin key from the settings) is over its budget."""
        if self._per_key is None:
            return
        wait = self.budgets.take("key:" + (key_id or "admin"), self._per_key)
        if wait:
            raise refusal(wait, "this API key")

    def address_wait(self, address: str) -> float:
        return self.budgets.take("ip:" + address, self._per_address) if self._per_address else 0.0

    def login_wait(self, address: str) -> float:
        return self.budgets.take("login:" + address, self._logins) if self._logins else 0.0


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


def refusal(wait: float, who: str) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"too many requests from {who}: retry after {retry_after(wait)} s",
        headers={"Retry-After": retry_after(wait)},
    )


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AddressLimit:
    """Refuse requests from an address over its budget before anything else looks at them."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.limits.limits_addresses:
            wait = self.limits.address_wait(client_address(scope))
            if wait:
                await send_error(send, refusal(wait, "this address"))
                return
        await self.app(scope, receive, send)


class BudgetSync:
    """Charges this process's spending to the shared buckets every `interval` seconds."""

    def __init__(self, budgets: RequestBudgets, shared: SharedBudgets, clock: Clock, interval: float) -> None:
        self._budgets = budgets
        self._shared = shared
        self._clock = clock
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._syncs = 0

    async def sync_once(self) -> None:
        now = self._clock.now()
        spends = self._budgets.drain()
        if spends:
            try:
                levels = await self._shared.charge(spends, now)
            except Exception:
                self._budgets.restore(spends)
                raise
            for name, level in levels.items():
                self._budgets.settle(name, level, now)
        self._syncs += 1
        if self._syncs % PRUNE_EVERY == 0:
            await self._shared.forget_idle(now)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pushwise-budget-sync")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with suppress(Exception):  # the database may already be gone; the spends were only a sample
            await self.sync_once()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sync_once()
            except Exception:  # a database hiccup must not stop the limits; they stay local meanwhile
                log.warning("sharing request budgets failed; limits stay per process until it works")
