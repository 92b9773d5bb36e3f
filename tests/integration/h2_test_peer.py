"""A small HTTP/2 server on loopback for the transport tests.

It does only what the transport tests need to observe or provoke: per-connection
stream concurrency, GOAWAY after N streams, dropped connections, slow answers,
and TLS with the simulators' CA-issued leaf.
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from pushwise.simulators.apns.certs import issue_server_tls


@dataclass
class PeerBehaviour:
    delay: float = 0.0
    status: int = 200
    body: bytes = b""
    max_concurrent_streams: int = 100
    goaway_after_streams: int | None = None
    drop_after_streams: int | None = None


@dataclass
class PeerStats:
    connections: int = 0
    streams: int = 0
    peak_streams_per_connection: int = 0
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


class H2TestPeer:
    def __init__(self, behaviour: PeerBehaviour | None = None, *, tls: bool = True) -> None:
        self.behaviour = behaviour or PeerBehaviour()
        self.stats = PeerStats()
        self._tls = tls
        self._tmp = tempfile.TemporaryDirectory()
        self.ca_file: str | None = None
        self.endpoint = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        context = None
        if self._tls:
            files, _ = issue_server_tls(Path(self._tmp.name))
            self.ca_file = files.ca_file
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(files.cert_file, files.key_file)
            context.set_alpn_protocols(["h2"])
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=context)
        port = self._server.sockets[0].getsockname()[1]
        self.endpoint = f"{'https' if self._tls else 'http'}://127.0.0.1:{port}"
        return self.endpoint

    async def stop(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._tmp.cleanup()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        self._writers.add(writer)
        me = asyncio.current_task()
        assert me is not None
        self._tasks.add(me)
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        conn.initiate_connection()
        conn.update_settings(
            {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.behaviour.max_concurrent_streams}
        )
        writer.write(conn.data_to_send())
        open_streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        served = 0
        try:
            while data := await reader.read(65536):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        open_streams[event.stream_id] = (dict(event.headers), bytearray())
                        self.stats.peak_streams_per_connection = max(
                            self.stats.peak_streams_per_connection, len(open_streams)
                        )
                    elif isinstance(event, h2.events.DataReceived):
                        open_streams[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        served += 1
                        if self._fault(conn, writer, served, event.stream_id):
                            return
                        task = asyncio.create_task(self._answer(conn, writer, event.stream_id, open_streams))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                writer.write(conn.data_to_send())
        except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(me)
            self._writers.discard(writer)
            writer.transport.abort()

    def _fault(
        self, conn: h2.connection.H2Connection, writer: asyncio.StreamWriter, served: int, stream_id: int
    ) -> bool:
        behaviour = self.behaviour
        if behaviour.drop_after_streams is not None and served > behaviour.drop_after_streams:
            writer.transport.abort()
            return True
        if behaviour.goaway_after_streams is not None and served > behaviour.goaway_after_streams:
            conn.close_connection(last_stream_id=stream_id - 2)
            writer.write(conn.data_to_send())
            writer.close()
            return True
        return False

    async def _answer(
        self,
        conn: h2.connection.H2Connection,
        writer: asyncio.StreamWriter,
        stream_id: int,
        open_streams: dict[int, tuple[dict[str, str], bytearray]],
    ) -> None:
        if self.behaviour.delay:
            await asyncio.sleep(self.behaviour.delay)
        headers, body = open_streams.pop(stream_id)
        self.stats.streams += 1
        self.stats.paths.append(headers[":path"])
        self.stats.headers.append(headers)
        self.stats.bodies.append(bytes(body))
        reply = self.behaviour.body
        if writer.is_closing():
            return
        try:
            conn.send_headers(
                stream_id,
                [
                    (":status", str(self.behaviour.status)),
                    ("apns-id", "test-id"),
                    ("content-length", str(len(reply))),
                ],
                end_stream=not reply,
            )
            if reply:
                conn.send_data(stream_id, reply, end_stream=True)
        except h2.exceptions.ProtocolError:
            return  # the connection was closed by a fault under test
        writer.write(conn.data_to_send())
