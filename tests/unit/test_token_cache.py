"""One exchange at a time, renewed early, renewed when refused, paused after a failure."""

from __future__ import annotations

import asyncio

import pytest

from pushwise.domain.clock import ManualClock
from pushwise.providers.token_cache import TokenCache, TokenExchangeFailed


async def test_concurrent_callers_share_one_exchange_and_renew_before_expiry() -> None:
    clock = ManualClock()
    made: list[float] = []

    async def exchange(now: float) -> tuple[str, float]:
        made.append(now)
        await asyncio.sleep(0)
        return f"t{len(made)}", 3600.0

    cache = TokenCache(exchange, clock, refresh_early=300)
    assert set(await asyncio.gather(*(cache.token() for _ in range(20)))) == {"t1"}
    clock.advance(3200)
    assert await cache.token() == "t1"
    clock.advance(200)  # inside the last five minutes
    assert await cache.token() == "t2"
    assert await cache.refresh_rejected("t2") == "t3"
    assert await cache.refresh_rejected("t2") == "t3"  # a stale refusal does not exchange again
    assert len(made) == 3


async def test_a_failed_exchange_is_not_repeated_during_the_pause() -> None:
    clock = ManualClock()
    calls = 0

    async def exchange(now: float) -> tuple[str, float]:
        nonlocal calls
        calls += 1
        raise TokenExchangeFailed("vendor:500", "down", retryable=True)

    cache = TokenCache(exchange, clock, failure_pause=5)
    for _ in range(3):
        with pytest.raises(TokenExchangeFailed):
            await cache.token()
    assert calls == 1
    assert cache.failure_wait() == 5
    clock.advance(5)
    with pytest.raises(TokenExchangeFailed):
        await cache.token()
    assert calls == 2
