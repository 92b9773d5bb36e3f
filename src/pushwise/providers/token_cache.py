"""One cached credential per provider, renewed shortly before it expires, by one exchange at a time.

Every token-based provider (FCM's OAuth2 access token, Huawei's and Honor's OAuth2
tokens, OPPO's `auth_token`, vivo's `authToken`) needs the same care: reuse the
token until `refresh_early` seconds before it expires, renew it when the service
calls it invalid, let concurrent callers share one exchange (single flight), and
after a failed exchange give callers the same failure for `failure_pause` seconds
instead of hammering the token endpoint. Time is the injected clock's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pushwise.domain.clock import Clock

REFRESH_EARLY_SECONDS = 300.0
FAILURE_PAUSE_SECONDS = 5.0


class TokenExchangeFailed(Exception):
    """The token endpoint did not give us a token.

    `retryable` is False when the service refused the grant itself (a revoked key, a
    wrong secret or signature), which is a configuration problem.
    """

    def __init__(self, reason: str, detail: str, *, retryable: bool) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.retryable = retryable


# Starts one exchange at `now`; returns the token and its lifetime in seconds.
Exchange = Callable[[float], Awaitable[tuple[str, float]]]


class TokenCache:
    def __init__(
        self,
        exchange: Exchange,
        clock: Clock,
        *,
        refresh_early: float = REFRESH_EARLY_SECONDS,
        failure_pause: float = FAILURE_PAUSE_SECONDS,
    ) -> None:
        self._exchange_with = exchange
        self._clock = clock
        self._refresh_early = refresh_early
        self._failure_pause = failure_pause
        self._token = ""
        self._expires_at = 0.0
        self._exchange: asyncio.Future[str] | None = None
        self._failure: TokenExchangeFailed | None = None
        self._failed_at = 0.0
        self.exchanges = 0  # exchanges started, for tests and stats

    async def token(self) -> str:
        """The current token, exchanged for a new one shortly before it expires."""
        if self._token and self._clock.now() < self._expires_at - self._refresh_early:
            return self._token
        return await self._refreshed()

    async def refresh_rejected(self, rejected: str) -> str:
        """A new token after the service refused `rejected`; requests in flight with it share one."""
        if rejected == self._token:
            self._expires_at = 0.0  # forces an exchange, or joins the one already in flight
        return await self.token()

    def failure_wait(self) -> float:
        """Seconds until a failed exchange may be retried (0 when none is pending)."""
        if self._failure is None:
            return 0.0
        return max(0.0, self._failed_at + self._failure_pause - self._clock.now())

    async def _refreshed(self) -> str:
        if self._failure is not None and self.failure_wait() > 0:
            raise self._failure
        if self._exchange is None:
            self._exchange = asyncio.ensure_future(self._fetch())
            self._exchange.add_done_callback(self._exchange_done)
        # Shielded: one caller giving up must not cancel the exchange the others wait for.
        return await asyncio.shield(self._exchange)

    def _exchange_done(self, exchange: asyncio.Future[str]) -> None:
        self._exchange = None
        failure = None if exchange.cancelled() else exchange.exception()
        if isinstance(failure, TokenExchangeFailed):
            self._failure = failure
            self._failed_at = self._clock.now()

    async def _fetch(self) -> str:
        started = self._clock.now()
        self.exchanges += 1
        token, lifetime = await self._exchange_with(started)
        self._token = token
        self._expires_at = started + lifetime
        self._failure = None
        return token
