"""Serving a simulator with granian, embedded in the simulator process's own asyncio loop.

granian does TLS, ALPN, HPACK and flow control in Rust; Python only answers each
request. Embedding it keeps one process and one copy of the counters. HTTP/1.1 is
served too, for plain control calls (and FCM's token endpoint).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP2Settings
from granian.server.embed import Server

from pushwise.simulators.apns.certs import TlsFiles
from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.control import CONTROL_PREFIX, ControlRoutes

# Apple advertises up to 1000 concurrent streams per connection; the other services get as many.
MAX_CONCURRENT_STREAMS = 1000

# Answers one service request from the RSGI scope and the request body.
ServiceAnswer = Callable[[Any, bytes], Reply]


class SimulatorRsgiApp:
    """Sends `/_sim/` to the control API and everything else to the simulated service."""

    def __init__(self, answer: ServiceAnswer, control: ControlRoutes) -> None:
        self._answer = answer
        self._control = control

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        body = await proto()
        path = scope.path
        if path.startswith(CONTROL_PREFIX):
            reply = self._control.answer(scope.method, path, body)
        else:
            reply = self._answer(scope, body)
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
        proto.response_bytes(reply.status, reply.headers, reply.body)


def server_tls(tls: TlsFiles | None) -> dict[str, Any]:
    """granian's TLS options for the simulator's server certificate (none: plain HTTP and h2c)."""
    if tls is None:
        return {}
    return {"ssl_cert": Path(tls.cert_file), "ssl_key": Path(tls.key_file)}


async def serve_rsgi(
    app: SimulatorRsgiApp, host: str, port: int, tls: dict[str, Any], stop: asyncio.Event
) -> None:
    """Serve `app` until `stop` is set (or the server ends on its own)."""
    server = Server(
        app,
        address=host,
        port=port,
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


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT: the harness stops the process with SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop when it is installed, plain asyncio otherwise."""
    try:
        import uvloop
    except ImportError:  # uvloop is optional (uvicorn[standard] brings it); plain asyncio works too
        asyncio.run(main)
    else:
        uvloop.run(main)


def spec_argument(argv: list[str] | None, module: str) -> Path:
    """The one argument of `python -m module SPEC.json`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit(f"usage: python -m {module} SPEC.json")
    return Path(args[0])
