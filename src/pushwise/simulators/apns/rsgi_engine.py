"""The fast engine: granian's Rust HTTP/2 server calling a tiny RSGI handler.

Python only runs `SimulatedApns.answer` per request (see `pushwise.simulators.rsgi`).
It cannot drop a connection or send GOAWAY on demand: those faults need the `h2` engine.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pushwise.simulators.apns.control import ControlApi
from pushwise.simulators.apns.peer import Reply, SimulatedApns
from pushwise.simulators.apns.provisioning import LaunchSpec
from pushwise.simulators.rsgi import SimulatorRsgiApp, serve_rsgi, server_tls


async def serve_granian(spec: LaunchSpec, apns: SimulatedApns, stop: asyncio.Event) -> None:
    tls = server_tls(spec.tls)
    if spec.tls and spec.auth == "certificate":
        tls.update(ssl_ca=Path(spec.tls.ca_file), ssl_client_verify=True)

    def answer(scope: Any, body: bytes) -> Reply:
        return apns.answer(scope.method, scope.path, scope.headers, body)

    control = ControlApi(apns, engine="granian", connection_faults=False)
    await serve_rsgi(SimulatorRsgiApp(answer, control), spec.host, spec.port, tls, stop)
