"""The FCM simulator process: `python -m pushwise.simulators.fcm.server SPEC.json`.

granian's Rust HTTP/2 server (TLS, ALPN, HPACK, flow control) calls a tiny RSGI
handler that runs `SimulatedFcm.answer`, embedded in this process's own asyncio
loop: one process, one copy of the counters, served until SIGTERM or SIGINT.
HTTP/1.1 is served too, for the token endpoint and the control API.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP2Settings
from granian.server.embed import Server

from pushwise.simulators.apns.recording import Recorder
from pushwise.simulators.apns.rsgi_engine import MAX_CONCURRENT_STREAMS
from pushwise.simulators.fcm.control import CONTROL_PREFIX, FcmControlApi
from pushwise.simulators.fcm.faults import parse_fcm_faults
from pushwise.simulators.fcm.oauth import TokenIssuer
from pushwise.simulators.fcm.provisioning import FcmLaunchSpec
from pushwise.simulators.fcm.service import SimulatedFcm


class FcmRsgiApp:
    def __init__(self, fcm: SimulatedFcm, control: FcmControlApi) -> None:
        self._fcm = fcm
        self._control = control

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        body = await proto()
        path = scope.path
        if path.startswith(CONTROL_PREFIX):
            reply = self._control.answer(scope.method, path, body)
        else:
            reply = self._fcm.answer(scope.method, path, scope.headers, body)
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
        proto.response_bytes(reply.status, reply.headers, reply.body)


def build_fcm(spec: FcmLaunchSpec) -> SimulatedFcm:
    issuer = TokenIssuer(
        client_email=spec.client_email, public_keys=spec.public_keys, audience=spec.token_uri
    )
    return SimulatedFcm(
        project_id=spec.project_id,
        issuer=issuer,
        faults=parse_fcm_faults(spec.faults),
        seed=spec.seed,
        recorder=Recorder(spec.history_size),
    )


async def serve(spec: FcmLaunchSpec) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    fcm = build_fcm(spec)
    tls: dict[str, Any] = {}
    if spec.tls:
        tls = {"ssl_cert": Path(spec.tls.cert_file), "ssl_key": Path(spec.tls.key_file)}
    server = Server(
        FcmRsgiApp(fcm, FcmControlApi(fcm, engine="granian")),
        address=spec.host,
        port=spec.port,
        interface=Interfaces.RSGI,
        http=HTTPModes.auto,
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


def run(spec: FcmLaunchSpec) -> None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional (uvicorn[standard] brings it); plain asyncio works too
        asyncio.run(serve(spec))
    else:
        uvloop.run(serve(spec))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m pushwise.simulators.fcm.server SPEC.json")
    run(FcmLaunchSpec.read(Path(args[0])))


if __name__ == "__main__":
    main()
