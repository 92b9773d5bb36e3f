"""The transport to one push service: pyreqwest offering h2 and http/1.1 by ALPN.

The shared `PyreqwestTransport` is HTTP/2-only by design (prior knowledge, https
only), which suits APNs and FCM. Push services differ: the big ones pick h2, but
some services and test peers speak only HTTP/1.1, and simulators and closed
networks use plain `http`. So Web Push gets this client: hyper negotiates the
protocol per connection, pools HTTP/1.1 connections, and multiplexes h2 ones.

Over TLS hyper learns a connection is h2 only after ALPN, so requests started
before the first connection is up would each open their own. The first request
therefore goes alone; the rest wait for its answer and then share its connection
(h2) or open their own (HTTP/1.1).

A `Pin` makes the client connect to one address we resolved and checked (SSRF
rule: public addresses only) instead of asking DNS itself at connection time,
which could answer differently (DNS rebinding); TLS still verifies the
certificate against the host name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from pyreqwest.client import Client

from pushwise.providers.http2.pyreqwest_transport import Lane, push_client_builder
from pushwise.providers.transport import TransportResponse

_KEEPALIVE = timedelta(seconds=30)
_KEEPALIVE_TIMEOUT = timedelta(seconds=10)
_IDLE = timedelta(seconds=90)


@dataclass(frozen=True, slots=True)
class Pin:
    """Connections to `host` go to `address` (with the URL's port), whatever DNS answers later."""

    host: str
    address: str
    port: int


class NegotiatedTransport:
    def __init__(
        self,
        *,
        ca_file: str | None = None,
        max_in_flight: int = 256,
        connect_timeout: float = 10.0,
        allow_http: bool = False,
        pin: Pin | None = None,
    ) -> None:
        builder = (
            push_client_builder(connect_timeout=connect_timeout, ca_file=ca_file)
            .http2(True)
            .https_only(not allow_http)
            .pool_idle_timeout(_IDLE)
            .http2_keep_alive_interval(_KEEPALIVE)
            .http2_keep_alive_timeout(_KEEPALIVE_TIMEOUT)
        )
        if pin is not None:
            builder = builder.resolve(pin.host, pin.address, pin.port)
        client: Client = builder.build()
        self._lane = Lane(client, asyncio.Semaphore(max_in_flight))

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes,
        timeout: float,
    ) -> TransportResponse:
        return await self._lane.request(method, url, headers, body, timeout)

    def connections(self) -> int:
        """1 while the pool holds a live connection: hyper does not tell how many HTTP/1.1 ones it keeps."""
        return int(self._lane.connected)

    async def close(self) -> None:
        self._lane.connected = False
        await self._lane.client.close()
