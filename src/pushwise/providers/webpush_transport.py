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
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from pyreqwest import exceptions as pyreqwest_errors
from pyreqwest.client import Client, ClientBuilder

from pushwise.providers.http2.pyreqwest_transport import transport_error_for
from pushwise.providers.transport import TransportResponse

_KEEPALIVE = timedelta(seconds=30)
_KEEPALIVE_TIMEOUT = timedelta(seconds=10)
_IDLE = timedelta(seconds=90)


class NegotiatedTransport:
    def __init__(
        self,
        *,
        ca_file: str | None = None,
        max_in_flight: int = 256,
        connect_timeout: float = 10.0,
        allow_http: bool = False,
    ) -> None:
        builder = (
            ClientBuilder()
            .http2(True)
            .https_only(not allow_http)
            .follow_redirects(False)
            .gzip(False)
            .brotli(False)
            .zstd(False)
            .deflate(False)
            .connect_timeout(timedelta(seconds=connect_timeout))
            .pool_idle_timeout(_IDLE)
            .http2_keep_alive_interval(_KEEPALIVE)
            .http2_keep_alive_timeout(_KEEPALIVE_TIMEOUT)
        )
        if ca_file:
            builder = builder.add_root_certificate_pem(Path(ca_file).read_bytes())
        self._client: Client = builder.build()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._opening = asyncio.Lock()
        self._connected = False
        self._timeouts: dict[float, timedelta] = {}

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes,
        timeout: float,
    ) -> TransportResponse:
        async with self._slots:
            if not self._connected:
                async with self._opening:
                    if not self._connected:
                        response = await self._send(method, url, headers, body, timeout)
                        self._connected = True
                        return response
            return await self._send(method, url, headers, body, timeout)

    async def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        timeout: float,
    ) -> TransportResponse:
        deadline = self._timeouts.get(timeout)
        if deadline is None:
            deadline = self._timeouts[timeout] = timedelta(seconds=timeout)
        request = (
            self._client.request(method, url).headers(headers).body_bytes(body).timeout(deadline).build()
        )
        try:
            response = await request.send()
            payload = await response.bytes()
        except pyreqwest_errors.RequestError as error:
            failure = transport_error_for(error)
            if failure.reason != "Timeout":
                self._connected = False
            raise failure from error
        return TransportResponse(response.status, dict(response.headers.items()), bytes(payload))

    async def close(self) -> None:
        await self._client.close()
