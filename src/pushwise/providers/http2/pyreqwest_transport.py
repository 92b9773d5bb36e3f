"""`Http2Transport` on pyreqwest (Rust hyper + rustls): the fast default.

hyper multiplexes every request to one host over a single HTTP/2 connection, so
each of our *lanes* is a separate client (its own pool, hence its own connection)
and a request goes to the least-loaded lane. Clients are built with HTTP/2 prior
knowledge even over TLS: ALPN then offers only `h2`, and hyper knows before the
handshake that the connection will be shared, so a burst (or the retries after a
GOAWAY) waits for one connection instead of opening one per request.

A fresh connection does not know the peer's stream limit until the peer's SETTINGS
arrive, and APNs starts low (it raises the limit once the first request is
authenticated). So a lane without a live connection lets one request through and
holds the rest until it is answered.

Connection-level failures all arrive as pyreqwest `ConnectError`; the cause chain
tells a lost connection, a GOAWAY and a failed handshake apart.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from pyreqwest import exceptions as pyreqwest_errors
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.response import Response

from pushwise.providers.http2.options import ConnectionOptions
from pushwise.providers.transport import TransportError, TransportResponse

_TLS_WORDS = ("certificate", "tls", "handshake", "alert")


@functools.lru_cache(maxsize=64)
def deadline(seconds: float) -> timedelta:
    """Made once per distinct timeout: every request of a provider has the same one."""
    return timedelta(seconds=seconds)


class HeaderView:
    """An answer's headers read from pyreqwest's own map, so a request copies none of them."""

    __slots__ = ("_response",)

    def __init__(self, response: Response) -> None:
        self._response = response

    def get(self, name: str, /) -> str | None:
        return self._response.get_header(name)


@dataclass(eq=False)
class Lane:
    """One pyreqwest client (its own pool, hence its own connection) and the requests in flight on it.

    While the lane has no live connection, one request goes alone and the rest wait for its answer,
    then share its connection (h2) or open their own (HTTP/1.1). `client_timeout` is the deadline
    built into the client, if any: a request with that timeout needs no deadline of its own.
    """

    client: Client
    streams: asyncio.Semaphore
    client_timeout: float | None = None
    opening: asyncio.Lock = field(default_factory=asyncio.Lock)
    connected: bool = False
    in_flight: int = 0

    async def request(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> TransportResponse:
        async with self.streams:
            if not self.connected:
                async with self.opening:
                    if not self.connected:
                        response = await self._send(method, url, headers, body, timeout)
                        self.connected = True
                        return response
            return await self._send(method, url, headers, body, timeout)

    async def _send(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> TransportResponse:
        builder = self.client.request(method, url).headers(headers).body_bytes(body)
        if timeout != self.client_timeout:
            builder = builder.timeout(deadline(timeout))
        try:
            response = await builder.build().send()
            payload = await response.bytes()
        except pyreqwest_errors.RequestError as error:
            failure = transport_error_for(error)
            if failure.reason != "Timeout":
                self.connected = False
            raise failure from error
        return TransportResponse(response.status, HeaderView(response), bytes(payload))


class PyreqwestTransport:
    def __init__(self, options: ConnectionOptions | None = None) -> None:
        self._options = options or ConnectionOptions()
        streams = self._options.max_streams_per_connection
        self._lanes = [
            Lane(_build_client(self._options), asyncio.Semaphore(streams), self._options.request_timeout)
            for _ in range(self._options.connections)
        ]

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes,
        timeout: float,
    ) -> TransportResponse:
        lane = min(self._lanes, key=_load)
        lane.in_flight += 1
        try:
            return await lane.request(method, url, headers, body, timeout)
        finally:
            lane.in_flight -= 1

    def connections(self) -> int:
        return sum(lane.connected for lane in self._lanes)

    async def close(self) -> None:
        for lane in self._lanes:
            lane.connected = False
        await asyncio.gather(*(lane.client.close() for lane in self._lanes))


def _load(lane: Lane) -> int:
    return lane.in_flight


def transport_error_for(error: pyreqwest_errors.RequestError) -> TransportError:
    """Name a pyreqwest failure in our vocabulary (`TransportError.reason`)."""
    causes = [cause["message"] for cause in (error.details.get("causes") or [])]
    detail = "; ".join(causes) or str(error)
    if isinstance(error, pyreqwest_errors.RequestTimeoutError):
        # pyreqwest reports any overall deadline as a connect timeout, so the type cannot tell them apart.
        return TransportError("Timeout", detail)
    if any(cause.startswith("connection error received") for cause in causes):
        return TransportError("GoAway", detail)
    if "client error (Connect)" in causes:
        lowered = detail.lower()
        return TransportError("TlsError" if any(w in lowered for w in _TLS_WORDS) else "ConnectError", detail)
    return TransportError("ConnectionLost", detail)


def push_client_builder(*, connect_timeout: float, ca_file: str | None) -> ClientBuilder:
    """What every push client shares: no redirects, no compression, our CA when given."""
    builder = (
        ClientBuilder()
        .follow_redirects(False)
        .gzip(False)
        .brotli(False)
        .zstd(False)
        .deflate(False)
        .connect_timeout(timedelta(seconds=connect_timeout))
    )
    if ca_file:
        builder = builder.add_root_certificate_pem(Path(ca_file).read_bytes())
    return builder


def _build_client(options: ConnectionOptions) -> Client:
    builder = (
        push_client_builder(connect_timeout=options.connect_timeout, ca_file=options.ca_file)
        .http2_prior_knowledge()
        .https_only(not options.prior_knowledge)
        .http2_keep_alive_interval(timedelta(seconds=options.keepalive_interval))
        .http2_keep_alive_timeout(timedelta(seconds=options.keepalive_timeout))
        .http2_keep_alive_while_idle(True)
        .timeout(deadline(options.request_timeout))
    )
    if options.identity_pem:
        builder = builder.identity_pem(options.identity_pem)
    return builder.build()
