"""The FCM simulator process: `python -m pushwise.simulators.fcm.server SPEC.json`.

granian's Rust HTTP/2 server (TLS, ALPN, HPACK, flow control) calls a tiny RSGI
handler that runs `SimulatedFcm.answer`, embedded in this process's own asyncio
loop: one process, one copy of the counters, served until SIGTERM or SIGINT.
HTTP/1.1 is served too, for the token endpoint and the control API.
"""

from __future__ import annotations

from typing import Any

from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.apns.recording import Recorder
from pushwise.simulators.fcm.control import FcmControlApi
from pushwise.simulators.fcm.faults import parse_fcm_faults
from pushwise.simulators.fcm.oauth import TokenIssuer
from pushwise.simulators.fcm.provisioning import FcmLaunchSpec
from pushwise.simulators.fcm.service import SimulatedFcm
from pushwise.simulators.rsgi import (
    SimulatorRsgiApp,
    run_event_loop,
    serve_rsgi,
    server_tls,
    spec_argument,
    stop_on_signals,
)


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
    stop = stop_on_signals()
    fcm = build_fcm(spec)

    def answer(scope: Any, body: bytes) -> Reply:
        return fcm.answer(scope.method, scope.path, scope.headers, body)

    app = SimulatorRsgiApp(answer, FcmControlApi(fcm, engine="granian"))
    await serve_rsgi(app, spec.host, spec.port, server_tls(spec.tls), stop)


def run(spec: FcmLaunchSpec) -> None:
    run_event_loop(serve(spec))


def main(argv: list[str] | None = None) -> None:
    run(FcmLaunchSpec.read(spec_argument(argv, "pushwise.simulators.fcm.server")))


if __name__ == "__main__":
    main()
