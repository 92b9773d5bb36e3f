"""`Http2Transport` on asyncio and the `h2` state machine: the measured fallback.

Kept small on purpose: it exists so that pushwise still sends if pyreqwest cannot be
installed, and as the raw ceiling in benchmarks. It honours what a correct HTTP/2
client must: the peer's stream limit, flow-control windows, GOAWAY (streams the peer
never processed fail as `GoAway`, the rest finish, then the connection is replaced),
and keepalive pings that detect a dead peer.
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
from urllib.parse import urlsplit

from pushwise.providers.http2.h2_connection import H2Connection
from pushwise.providers.http2.options import ConnectionOptions
from pushwise.providers.transport import TransportError, TransportResponse


class H2Transport:
    def __init__(self, options: ConnectionOptions | None = None) -> None:
        self._options = options or ConnectionOptions()
        self._origins: dict[str, _Origin] = {}
        self._tls: ssl.SSLContext | None = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes,
        timeout: float,
    ) -> TransportResponse:
        split = url.index("/", url.index("://") + 3)
        origin = self._origins.get(url[:split])
        if origin is None:
            origin = self._origins[url[:split]] = _Origin(url[:split], self._options, self._tls_for(url))
        try:
            async with asyncio.timeout(timeout):
                connection = await origin.connection()
                return await connection.request(method, url[split:], headers, body)
        except TimeoutError:
            raise TransportError("Timeout", f"no answer within {timeout} s") from None

    def _tls_for(self, url: str) -> ssl.SSLContext | None:
        if url.startswith("https:"):
            if self._tls is None:
                self._tls = tls_context(self._options)
            return self._tls
        if not self._options.prior_knowledge:
            raise ValueError(f"cleartext HTTP/2 to {url} needs prior_knowledge=True")
        return None

    def connections(self) -> int:
        return sum(origin.connections() for origin in self._origins.values())

    async def close(self) -> None:
        await asyncio.gather(*(origin.close() for origin in self._origins.values()))
        self._origins.clear()


class _Origin:
    """The connections to one scheme://host:port, replaced when they die or drain."""

    def __init__(self, origin: str, options: ConnectionOptions, tls: ssl.SSLContext | None) -> None:
        parts = urlsplit(origin)
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._authority = parts.netloc
        self._scheme = parts.scheme
        self._options = options
        self._tls = tls
        self._slots: list[H2Connection | None] = [None] * options.connections
        self._locks = [asyncio.Lock() for _ in range(options.connections)]
        self._retired: list[H2Connection] = []

    async def connection(self) -> H2Connection:
        """The least-loaded live connection; a request that finds a dead slot reopens it.

        Slots already being reopened are skipped while another connection is live, so a
        burst spreads over all slots instead of queueing behind one handshake.
        """
        best: H2Connection | None = None
        for index, slot in enumerate(self._slots):
            if slot is not None and slot.usable:
                if best is None or slot.load < best.load:
                    best = slot
            elif not self._locks[index].locked():
                return await self._replace(index)
        return best if best is not None else await self._replace(0)

    async def _replace(self, index: int) -> H2Connection:
        async with self._locks[index]:
            slot = self._slots[index]
            if slot is not None and slot.usable:
                return slot
            if slot is not None:
                self._retired.append(slot)  # may still be finishing streams after a GOAWAY
            fresh = await self._open()
            self._slots[index] = fresh
            return fresh

    async def _open(self) -> H2Connection:
        try:
            async with asyncio.timeout(self._options.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    self._host, self._port, ssl=self._tls, server_hostname=self._host if self._tls else None
                )
        except ssl.SSLError as error:
            raise TransportError("TlsError", str(error)) from error
        except (OSError, TimeoutError) as error:
            raise TransportError("ConnectError", str(error) or "connect timeout") from error
        if self._tls is not None:
            protocol = writer.get_extra_info("ssl_object").selected_alpn_protocol()
            if protocol != "h2":
                writer.close()
                raise TransportError("TlsError", f"peer did not negotiate h2 (ALPN {protocol!r})")
        return H2Connection(reader, writer, self._scheme, self._authority, self._options)

    def connections(self) -> int:
        """Live connections; ones draining after a GOAWAY are on their way out and not counted."""
        return sum(1 for slot in self._slots if slot is not None and slot.usable)

    async def close(self) -> None:
        live = [slot for slot in self._slots if slot is not None]
        await asyncio.gather(*(connection.close() for connection in [*live, *self._retired]))


def _load(connection: H2Connection) -> int:
    return connection.load


def tls_context(options: ConnectionOptions) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.ca_file)
    context.set_alpn_protocols(["h2"])
    if options.identity_pem:
        # The ssl module loads client identities only from files.
        with tempfile.NamedTemporaryFile(suffix=".pem") as handle:
            handle.write(options.identity_pem)
            handle.flush()
            context.load_cert_chain(handle.name)
    return context
