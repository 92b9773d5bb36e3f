"""The fast engine: granian's Rust HTTP/2 server calling a tiny RSGI handler.

granian does TLS, ALPN, HPACK and flow control in Rust; Python only runs
`SimulatedApns.answer` per request. It runs embedded in the simulator's own
asyncio loop (one process, one copy of the counters). It cannot drop a
connection or send GOAWAY on demand: those faults need the `h2` engine.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP2Settings
from granian.server.embed import Server

from pushwise.simulators.apns.control import CONTROL_PREFIX, ControlApi
from pushwise.simulators.apns.peer import SimulatedApns
from pushwise.simulators.apns.provisioning import LaunchSpec

# Apple advertises up to 1000 concurrent streams per connection.
MAX_CONCURRENT_STREAMS = 1000


class ApnsRsgiApp:
    def __init__(self, apns: SimulatedApns, control: ControlApi) -> None:
        self._apns = apns
        self._control = control

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        body = await proto()
        path = scope.path
        if path.startswith(CONTROL_PREFIX):
            reply = self._control.answer(scope.method, path, body)
        else:
            reply = self._apns.answer(scope.method, path, scope.headers, body)
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
        proto.response_bytes(reply.status, reply.headers, reply.body)


async def serve_granian(spec: LaunchSpec, apns: SimulatedApns, stop: asyncio.Event) -> None:
    control = ControlApi(apns, engine="granian", connection_faults=False)
    tls: dict[str, Any] = {}
    if spec.tls:
        tls = {"ssl_cert": Path(spec.tls.cert_file), "ssl_key": Path(spec.tls.key_file)}
        if spec.auth == "certificate":
            tls.update(ssl_ca=Path(spec.tls.ca_file), ssl_client_verify=True)
    server = Server(
        ApnsRsgiApp(apns, control),
        address=spec.host,
        port=spec.port,
        interface=Interfaces.RSGI,
        http=HTTPModes.auto,  # h2 via ALPN or prior knowledge; HTTP/1.1 for plain control calls
        http2_settings=HTTP2Settings(max_concurrent_streams=MAX_CONCURRENT_STREAMS),
        websockets=False,
        log_enabled=False,
        **tls,
    )
    serving = asyncio.ensure_future(server.serve())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not serving.done():
        server.stop()  # type: ignore[no-untyped-call]
        await serving
    stopping.cancel()
