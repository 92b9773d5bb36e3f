"""One client HTTP/2 connection driven by the `h2` state machine.

A reader task turns frames into stream results; requests wait for a free stream
(the peer's MAX_CONCURRENT_STREAMS and our own cap) and for flow-control window
before sending body bytes. Every way the connection can end fails the streams still
open with a `TransportError`, so no caller waits forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from typing import cast

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
from hpack import HeaderTuple, NeverIndexedHeaderTuple

from pushwise.providers.http2.options import ConnectionOptions
from pushwise.providers.transport import TransportError, TransportResponse

_READ_SIZE = 65536
# Headers are rendered by our own code, already lower-case and trimmed: skip h2's
# per-header validation and normalisation, which cost more than the send itself.
_H2_CONFIG = h2.config.H2Configuration(
    client_side=True,
    header_encoding="utf-8",
    validate_inbound_headers=False,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
)


class _Stream:
    __slots__ = ("body", "future", "headers", "status")

    def __init__(self, future: asyncio.Future[TransportResponse]) -> None:
        self.future = future
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()


class H2Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        scheme: str,
        authority: str,
        options: ConnectionOptions,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._pseudo = [HeaderTuple(":scheme", scheme), HeaderTuple(":authority", authority)]
        self._last_values: dict[str, str] = {}
        self._flush_pending = False
        self._max_streams = options.max_streams_per_connection
        self._h2 = h2.connection.H2Connection(_H2_CONFIG)
        self._h2.initiate_connection()
        self._writer.write(self._h2.data_to_send())
        self._streams: dict[int, _Stream] = {}
        self._stream_waiters: deque[asyncio.Future[None]] = deque()
        self._window_opened = asyncio.Event()
        self._pong = asyncio.Event()
        self._failure: TransportError | None = None
        self._draining = False
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._keepalive(options))]

    @property
    def usable(self) -> bool:
        return self._failure is None and not self._draining

    @property
    def load(self) -> int:
        return len(self._streams) + len(self._stream_waiters)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> TransportResponse:
        await self._wait_for_stream()
        stream_id = self._h2.get_next_available_stream_id()
        stream = _Stream(asyncio.get_running_loop().create_future())
        self._streams[stream_id] = stream
        try:
            self._h2.send_headers(stream_id, self._header_block(method, path, headers), end_stream=not body)
            self._flush()
            if body:
                await self._send_body(stream_id, body)
            await self._writer.drain()
            return await stream.future
        except asyncio.CancelledError:
            self._cancel(stream_id)
            raise
        except (h2.exceptions.ProtocolError, ConnectionError) as error:
            self._finish(stream_id)
            raise self._failure or TransportError("ConnectionLost", str(error)) from error

    async def _wait_for_stream(self) -> None:
        while True:
            if self._failure is not None:
                raise self._failure
            if self._draining:
                raise TransportError("GoAway", "connection is draining")
            limit = min(self._max_streams, self._h2.remote_settings.max_concurrent_streams)
            if len(self._streams) < limit:
                return
            waiter = asyncio.get_running_loop().create_future()
            self._stream_waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._stream_waiters.remove(waiter)

    async def _send_body(self, stream_id: int, body: bytes) -> None:
        view = memoryview(body)
        while view:
            window = min(self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size)
            if window <= 0:
                self._window_opened.clear()
                await self._window_opened.wait()
                if self._failure is not None:
                    raise self._failure
                continue
            self._h2.send_data(stream_id, view[:window].tobytes(), end_stream=len(view) <= window)
            self._flush()
            view = view[window:]

    def _header_block(self, method: str, path: str, headers: dict[str, str]) -> list[HeaderTuple]:
        """Index only values repeated from the previous request (topic, bearer token).

        A per-request value (the device path, the apns-id) added to HPACK's 4 KiB
        dynamic table would soon evict the constant ones, and the ~250-byte bearer
        token would be Huffman-coded again on every request.
        """
        last = self._last_values
        block = [HeaderTuple(":method", method), NeverIndexedHeaderTuple(":path", path), *self._pseudo]
        for name, value in headers.items():
            block.append(
                HeaderTuple(name, value) if last.get(name) == value else NeverIndexedHeaderTuple(name, value)
            )
            last[name] = value
        return block

    def _flush(self) -> None:
        """Write once per event-loop turn, so requests started together share a write."""
        if not self._flush_pending and self._failure is None:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._write_out)

    def _write_out(self) -> None:
        self._flush_pending = False
        if self._failure is None and not self._writer.is_closing():
            self._writer.write(self._h2.data_to_send())

    def _cancel(self, stream_id: int) -> None:
        """A caller gave up (timeout): tell the peer, free the stream."""
        if self._finish(stream_id) and self._failure is None:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
                self._flush()

    def _finish(self, stream_id: int) -> bool:
        stream = self._streams.pop(stream_id, None)
        if self._stream_waiters:
            waiter = self._stream_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
        if self._draining and not self._streams:
            self._fail(TransportError("GoAway", "connection drained"))
        return stream is not None

    async def _read(self) -> None:
        try:
            while data := await self._reader.read(_READ_SIZE):
                for event in self._h2.receive_data(data):
                    self._on_event(event)
                self._flush()
            self._fail(TransportError("ConnectionLost", "peer closed the connection"))
        except (OSError, h2.exceptions.ProtocolError) as error:
            self._fail(TransportError("ConnectionLost", str(error)))

    def _on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            stream = self._streams.get(event.stream_id)
            if stream is not None:
                # header_encoding="utf-8" makes h2 hand back str pairs; its types cannot say so.
                stream.headers = dict(cast("list[tuple[str, str]]", event.headers))
                stream.status = int(stream.headers.pop(":status"))
        elif isinstance(event, h2.events.DataReceived):
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            stream = self._streams.get(event.stream_id)
            if stream is not None:
                stream.body += event.data
        elif isinstance(event, h2.events.StreamEnded):
            stream = self._streams.get(event.stream_id)
            if stream is not None and not stream.future.done():
                stream.future.set_result(TransportResponse(stream.status, stream.headers, bytes(stream.body)))
            self._finish(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self._fail_stream(
                event.stream_id, TransportError("ConnectionLost", f"stream reset {event.error_code!r}")
            )
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._on_goaway(event)
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            self._window_opened.set()
            self._wake_stream_waiters()
        elif isinstance(event, h2.events.PingAckReceived):
            self._pong.set()

    def _on_goaway(self, event: h2.events.ConnectionTerminated) -> None:
        """Streams above `last_stream_id` were never processed: fail them now; let the rest finish."""
        self._draining = True
        last = event.last_stream_id if event.last_stream_id is not None else 0
        for stream_id in [sid for sid in self._streams if sid > last]:
            self._fail_stream(stream_id, TransportError("GoAway", f"error code {event.error_code!r}"))
        if not self._streams:
            self._fail(TransportError("GoAway", f"error code {event.error_code!r}"))
        self._wake_stream_waiters()

    def _fail_stream(self, stream_id: int, error: TransportError) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None and not stream.future.done():
            stream.future.set_exception(error)
        self._finish(stream_id)

    def _wake_stream_waiters(self) -> None:
        for waiter in self._stream_waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _fail(self, error: TransportError) -> None:
        """End the connection: every open stream and every waiter gets `error`."""
        if self._failure is not None:
            return
        self._failure = error
        for stream in self._streams.values():
            if not stream.future.done():
                stream.future.set_exception(error)
        self._streams.clear()
        self._wake_stream_waiters()
        self._window_opened.set()
        self._writer.close()

    async def _keepalive(self, options: ConnectionOptions) -> None:
        while self._failure is None:
            await asyncio.sleep(options.keepalive_interval)
            if self._failure is not None:
                return
            self._pong.clear()
            self._h2.ping(os.urandom(8))
            self._flush()
            try:
                async with asyncio.timeout(options.keepalive_timeout):
                    await self._pong.wait()
            except TimeoutError:
                self._fail(TransportError("ConnectionLost", "keepalive ping was not answered"))

    async def close(self) -> None:
        if self._failure is None:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._h2.close_connection()
                self._writer.write(self._h2.data_to_send())
            self._fail(TransportError("ConnectionLost", "transport closed"))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
