"""The connection-fault engine: a pure-Python asyncio HTTP/2 server on `h2`.

Slower than granian (about half its rate here) but it owns every frame, so it
can do what APNs does to a connection and granian cannot: close it with
streams in flight, and send GOAWAY after N streams (answering the streams up
to the GOAWAY's last stream id, refusing later ones, then closing).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import cast

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import H2Error
from h2.settings import SettingCodes
from hyperframe.frame import GoAwayFrame

from pushwise.simulators.apns.control import CONTROL_PREFIX, ControlApi
from pushwise.simulators.apns.peer import Reply, SimulatedApns
from pushwise.simulators.apns.provisioning import LaunchSpec
from pushwise.simulators.rsgi import MAX_CONCURRENT_STREAMS

_GOAWAY_DEBUG_DATA = b'{"reason":"Shutdown"}'


@dataclass(slots=True)
class _Request:
    method: str = ""
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


class ApnsH2Connection(asyncio.Protocol):
    def __init__(self, apns: SimulatedApns, control: ControlApi) -> None:
        self._apns = apns
        self._control = control
        # Header validation is a measurable share of the per-request cost; our peers are loopback clients.
        config = H2Configuration(
            client_side=False,
            header_encoding="utf-8",
            validate_inbound_headers=False,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        self._h2 = H2Connection(config)
        self._transport: asyncio.Transport | None = None
        self._requests: dict[int, _Request] = {}
        self._streams_seen = 0
        self._unanswered = 0
        self._goaway_last_stream: int | None = None
        self._unsent_bodies: dict[int, bytes] = {}  # waiting for the client to open its flow-control window

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TLS transport is not an asyncio.Transport subclass, but has its interface.
        self._transport = cast(asyncio.Transport, transport)
        self._apns.recorder.connection_events["opened"] += 1
        self._h2.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS})
        self._h2.initiate_connection()
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except H2Error:
            self._flush()
            self._close()
            return
        for event in events:
            self._on_event(event)
        self._flush()
        self._close_if_drained()

    def _on_event(self, event: object) -> None:
        if isinstance(event, RequestReceived):
            self._on_request(event)
        elif isinstance(event, DataReceived):
            request = self._requests.get(event.stream_id)
            if request is not None:
                request.body += event.data
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, StreamEnded):
            self._dispatch(event.stream_id)
        elif isinstance(event, StreamReset):
            self._requests.pop(event.stream_id, None)
            if self._unsent_bodies.pop(event.stream_id, None) is not None:
                self._answered()
        elif isinstance(event, WindowUpdated):
            for stream_id in list(self._unsent_bodies):
                self._send_body(stream_id, self._unsent_bodies.pop(stream_id))
        elif isinstance(event, ConnectionTerminated):
            self._close()

    def _on_request(self, event: RequestReceived) -> None:
        stream_id = event.stream_id
        if self._goaway_last_stream is not None and stream_id > self._goaway_last_stream:
            self._h2.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        request = _Request()
        # header_encoding makes h2 hand out str, which its annotations do not know.
        for name, value in cast("list[tuple[str, str]]", event.headers):
            if name.startswith(":"):
                if name == ":method":
                    request.method = value
                elif name == ":path":
                    request.path = value
            else:
                request.headers[name] = value
        self._requests[stream_id] = request
        self._unanswered += 1
        if not request.path.startswith(CONTROL_PREFIX):  # control calls must not trip connection faults
            self._streams_seen += 1
            goaway_after = self._apns.faults.goaway_after_streams
            if goaway_after is not None and self._streams_seen == goaway_after:
                self._send_goaway(stream_id)
        if event.stream_ended is not None:
            self._dispatch(stream_id)

    def _dispatch(self, stream_id: int) -> None:
        request = self._requests.pop(stream_id, None)
        if request is None:
            return
        if request.path.startswith(CONTROL_PREFIX):
            self._respond(stream_id, self._control.answer(request.method, request.path, bytes(request.body)))
            return
        reply = self._apns.answer(request.method, request.path, request.headers, bytes(request.body))
        if reply.drop_connection:
            self._apns.recorder.connection_events["dropped"] += 1
            self._close()
        elif reply.delay_s:
            asyncio.get_running_loop().call_later(reply.delay_s, self._respond_later, stream_id, reply)
        else:
            self._respond(stream_id, reply)

    def _respond_later(self, stream_id: int, reply: Reply) -> None:
        self._respond(stream_id, reply)
        self._flush()
        self._close_if_drained()

    def _respond(self, stream_id: int, reply: Reply) -> None:
        if self._transport is None:
            return
        headers = [(":status", str(reply.status)), *reply.headers]
        if reply.body:
            headers.append(("content-length", str(len(reply.body))))
        try:
            self._h2.send_headers(stream_id, headers, end_stream=not reply.body)
        except H2Error:
            self._answered()  # the client reset the stream meanwhile; nothing to answer
            return
        if reply.body:
            self._send_body(stream_id, reply.body)
        else:
            self._answered()

    def _send_body(self, stream_id: int, body: bytes) -> None:
        """Send what the client's flow-control window allows; the rest waits for a WINDOW_UPDATE."""
        try:
            while body:
                room = min(self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size)
                if room <= 0:
                    self._unsent_bodies[stream_id] = body
                    return
                chunk, body = body[:room], body[room:]
                self._h2.send_data(stream_id, chunk, end_stream=not body)
        except H2Error:
            pass  # the client reset the stream meanwhile
        self._answered()

    def _answered(self) -> None:
        self._unanswered -= 1

    def _close_if_drained(self) -> None:
        """After a GOAWAY, close once every stream up to its last stream id has its answer."""
        if self._goaway_last_stream is not None and self._unanswered == 0:
            self._close()

    def _send_goaway(self, last_stream_id: int) -> None:
        """Written past h2's state machine: after its own GOAWAY, h2 would refuse to answer open streams."""
        self._goaway_last_stream = last_stream_id
        self._apns.recorder.connection_events["goaway"] += 1
        self._flush()
        frame = GoAwayFrame(
            stream_id=0,
            last_stream_id=last_stream_id,
            error_code=ErrorCodes.NO_ERROR,
            additional_data=_GOAWAY_DEBUG_DATA,
        )
        if self._transport is not None:
            self._transport.write(frame.serialize())

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and self._transport is not None:
            self._transport.write(data)

    def _close(self) -> None:
        """Close after sending what is already answered, so recorded replies are replies the client got."""
        self._flush()
        if self._transport is not None:
            self._transport.close()
            self._transport = None


def _tls_context(spec: LaunchSpec) -> ssl.SSLContext | None:
    if spec.tls is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(spec.tls.cert_file, spec.tls.key_file)
    context.set_alpn_protocols(["h2"])
    if spec.auth == "certificate":
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(spec.tls.ca_file)
    return context


async def serve_h2(spec: LaunchSpec, apns: SimulatedApns, stop: asyncio.Event) -> None:
    control = ControlApi(apns, engine="h2", connection_faults=True)
    server = await asyncio.get_running_loop().create_server(
        lambda: ApnsH2Connection(apns, control), spec.host, spec.port, ssl=_tls_context(spec)
    )
    async with server:
        await stop.wait()
