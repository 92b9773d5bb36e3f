"""The simulator process: `python -m pushwise.simulators.webpush.server SPEC.json`.

granian serves it (Rust HTTP/1.1 and HTTP/2, TLS with ALPN), calling a tiny RSGI
handler embedded in this process's asyncio loop, so there is one copy of the
subscriptions and counters. Over TLS it offers h2 and http/1.1 like the big push
services; over plain http it speaks HTTP/1.1 (and h2c to clients that insist).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP2Settings
from granian.server.embed import Server

from pushwise.simulators.apns.certs import TlsFiles
from pushwise.simulators.webpush.control import CONTROL_PREFIX, PushControlApi
from pushwise.simulators.webpush.faults import parse_faults
from pushwise.simulators.webpush.recording import PushRecorder
from pushwise.simulators.webpush.service import SimulatedPushService

MAX_CONCURRENT_STREAMS = 1000


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


class PushRsgiApp:
    def __init__(self, service: SimulatedPushService) -> None:
        self._service = service
        self._control = PushControlApi(service)

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        body = await proto()
        path = scope.path
        if path.startswith(CONTROL_PREFIX):
            reply = self._control.answer(scope.method, path, body)
        else:
            reply = self._service.answer(scope.method, path, scope.headers, body, scope.http_version)
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
        proto.response_bytes(reply.status, reply.headers, reply.body)


def build_service(spec: PushLaunchSpec) -> SimulatedPushService:
    return SimulatedPushService(
        spec.origin,
        faults=parse_faults(spec.faults),
        seed=spec.seed,
        decrypt_messages=spec.decrypt,
        recorder=PushRecorder(spec.history_size),
    )


async def serve(spec: PushLaunchSpec) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tls: dict[str, Any] = {}
    if spec.tls:
        tls = {"ssl_cert": Path(spec.tls.cert_file), "ssl_key": Path(spec.tls.key_file)}
    server = Server(
        PushRsgiApp(build_service(spec)),
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


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m pushwise.simulators.webpush.server SPEC.json")
    spec = PushLaunchSpec.read(Path(args[0]))
    try:
        import uvloop
    except ImportError:  # optional: plain asyncio works too
        asyncio.run(serve(spec))
    else:
        uvloop.run(serve(spec))


if __name__ == "__main__":
    main()
