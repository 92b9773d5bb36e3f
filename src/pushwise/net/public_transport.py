"""An httpx transport that connects only to public addresses (SSRF rule of API.md).

Checking the URL when it is configured is not enough: a host name can resolve to
a private address later (DNS rebinding). This transport resolves the host at
connection time, refuses unless every address is public, and connects to the very
address it checked; TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from pushwise.domain.endpoints import EndpointRefused
from pushwise.net.endpoint_guard import Resolver, public_addresses, resolve_addresses

_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0)


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, resolve: Resolver = resolve_addresses) -> None:
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await public_addresses(host, port, self._resolve)
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}") from error
        return await self._inner.connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EndpointRefused("private_endpoint_refused", "unix sockets are not outbound endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def outbound_transport(
    *, allow_private: bool, resolve: Resolver = resolve_addresses, limits: httpx.Limits = _LIMITS
) -> httpx.AsyncHTTPTransport:
    """Pooled HTTP/1.1; unless private endpoints are allowed, guarded by `PublicOnlyBackend`."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    if not allow_private:
        # httpx offers no hook for the network backend, so its pool is rebuilt with the
        # same settings plus ours (httpcore's pool is what httpx's transport wraps).
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=PublicOnlyBackend(resolve),
        )
    return transport
