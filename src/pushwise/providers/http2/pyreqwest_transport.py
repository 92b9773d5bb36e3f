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
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from pyreqwest import exceptions as pyreqwest_errors
from pyreqwest.client import Client, ClientBuilder

from pushwise.providers.http2.options import ConnectionOptions
from pushwise.providers.transport import TransportError, TransportResponse

_TLS_WORDS = ("certificate", "tls", "handshake", "alert")


@dataclass(eq=False)
class _Lane:
    client: Client
    streams: asyncio.Semaphore
    opening: asyncio.Lock = field(default_factory=asyncio.Lock)
    connected: bool = False
    in_flight: int = 0


class PyreqwestTransport:
    def __init__(self, options: ConnectionOptions | None = None) -> None:
        self._options = options or ConnectionOptions()
        self._lanes = [
            _Lane(_build_client(self._options), asyncio.Semaphore(self._options.max_streams_per_connection))
            for _ in range(self._options.connections)
        ]
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
        lane = min(self._lanes, key=_load)
        lane.in_flight += 1
        try:
            async with lane.streams:
                if not lane.connected:
                    async with lane.opening:
                        if not lane.connected:
                            response = await self._send(lane, method, url, headers, body, timeout)
                            lane.connected = True
                            return response
                return await self._send(lane, method, url, headers, body, timeout)
        finally:
            lane.in_flight -= 1

    async def _send(
        self,
        lane: _Lane,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        timeout: float,
    ) -> TransportResponse:
        deadline = self._timeouts.get(timeout)
        if deadline is None:
            deadline = self._timeouts[timeout] = timedelta(seconds=timeout)
        request = lane.client.request(method, url).headers(headers).body_bytes(body).timeout(deadline).build()
        try:
            response = await request.send()
            payload = await response.bytes()
        except pyreqwest_errors.RequestError as error:
            failure = transport_error_for(error)
            if failure.reason != "Timeout":
                lane.connected = False
            raise failure from error
        return TransportResponse(response.status, dict(response.headers.items()), bytes(payload))

    async def close(self) -> None:
        await asyncio.gather(*(lane.client.close() for lane in self._lanes))


def _load(lane: _Lane) -> int:
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


def _build_client(options: ConnectionOptions) -> Client:
    builder = (
        ClientBuilder()
        .http2_prior_knowledge()
        .https_only(not options.prior_knowledge)
        .follow_redirects(False)
        .gzip(False)
        .brotli(False)
        .zstd(False)
        .deflate(False)
        .connect_timeout(timedelta(seconds=options.connect_timeout))
        .http2_keep_alive_interval(timedelta(seconds=options.keepalive_interval))
        .http2_keep_alive_timeout(timedelta(seconds=options.keepalive_timeout))
        .http2_keep_alive_while_idle(True)
    )
    if options.ca_file:
        builder = builder.add_root_certificate_pem(Path(options.ca_file).read_bytes())
    if options.identity_pem:
        builder = builder.identity_pem(options.identity_pem)
    return builder.build()
