"""The simulator process: `python -m pushwise.simulators.webpush.server SPEC.json`.

granian serves it (Rust HTTP/1.1 and HTTP/2, TLS with ALPN), calling a tiny RSGI
handler embedded in this process's asyncio loop, so there is one copy of the
subscriptions and counters. Over TLS it offers h2 and http/1.1 like the big push
services; over plain http it speaks HTTP/1.1 (and h2c to clients that insist).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pushwise.simulators.apns.certs import TlsFiles
from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.rsgi import (
    SimulatorRsgiApp,
    run_event_loop,
    serve_rsgi,
    server_tls,
    spec_argument,
    stop_on_signals,
)
from pushwise.simulators.webpush.control import PushControlApi
from pushwise.simulators.webpush.faults import parse_faults
from pushwise.simulators.webpush.recording import PushRecorder
from pushwise.simulators.webpush.service import SimulatedPushService


@dataclass(frozen=True, slots=True)
class PushLaunchSpec:
    host: str
    port: int
    tls: TlsFiles | None
    faults: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    decrypt: bool = True
    history_size: int = 10_000

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def write(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))

    @classmethod
    def read(cls, path: Path) -> PushLaunchSpec:
        raw = orjson.loads(path.read_bytes())
        tls = raw.pop("tls")
        return cls(**raw, tls=TlsFiles(**tls) if tls else None)


def build_service(spec: PushLaunchSpec) -> SimulatedPushService:
    return SimulatedPushService(
        spec.origin,
        faults=parse_faults(spec.faults),
        seed=spec.seed,
        decrypt_messages=spec.decrypt,
        recorder=PushRecorder(spec.history_size),
    )


async def serve(spec: PushLaunchSpec) -> None:
    stop = stop_on_signals()
    service = build_service(spec)

    def answer(scope: Any, body: bytes) -> Reply:
        return service.answer(scope.method, scope.path, scope.headers, body, scope.http_version)

    app = SimulatorRsgiApp(answer, PushControlApi(service))
    await serve_rsgi(app, spec.host, spec.port, server_tls(spec.tls), stop)


def main(argv: list[str] | None = None) -> None:
    spec = PushLaunchSpec.read(spec_argument(argv, "pushwise.simulators.webpush.server"))
    run_event_loop(serve(spec))


if __name__ == "__main__":
    main()
