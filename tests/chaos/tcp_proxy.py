"""A TCP proxy on loopback that a test can cut and restore: a network partition on demand.

`cut()` stops forwarding in both directions without closing anything (bytes wait in the proxy, as
packets would in a partitioned network; new connections are accepted and held too); `restore()`
lets everything flow again. `reset()` closes every connection instead (a crashed middlebox).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._flowing.set()
        if self._server is not None:
            self._server.close()
        self.reset()
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self) -> None:
        self._flowing.clear()

    def restore(self) -> None:
        self._flowing.set()

    def reset(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        await self._flowing.wait()
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections += 1
        self._writers |= {client_writer, upstream_writer}
        try:
            await asyncio.gather(
                self._pump(client_reader, upstream_writer),
                self._pump(upstream_reader, client_writer),
                return_exceptions=True,
            )
        except asyncio.CancelledError:
            pass  # the proxy is closing: the connection goes with it
        finally:
            for writer in (client_writer, upstream_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                await self._flowing.wait()
                writer.write(chunk)
                await writer.drain()
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.write_eof()


@contextlib.asynccontextmanager
async def tcp_proxy(upstream_host: str, upstream_port: int) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(upstream_host, upstream_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
