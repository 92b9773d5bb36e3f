"""The simulator process: `python -m pushwise.simulators.smtp.server SPEC.json`.

aiosmtpd serves SMTP on one port and a small JSON control API (messages,
faults, reset) runs on another, both in this process's event loop so they
share one sink.
"""

from __future__ import annotations

import asyncio
import signal
import ssl
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from aiosmtpd.smtp import SMTP
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pushwise.simulators.apns.certs import TlsFiles
from pushwise.simulators.smtp.faults import FaultConfigError
from pushwise.simulators.smtp.sink import SmtpSink


@dataclass(frozen=True, slots=True)
class SmtpLaunchSpec:
    host: str
    port: int
    control_port: int
    tls: TlsFiles | None  # set: STARTTLS offered and required
    credentials: tuple[str, str] | None  # set: AUTH required
    faults: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def write(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> SmtpLaunchSpec:
        raw = orjson.loads(path.read_bytes())
        tls, credentials = raw.pop("tls"), raw.pop("credentials")
        return cls(
            **raw,
            tls=TlsFiles(**tls) if tls else None,
            credentials=(credentials[0], credentials[1]) if credentials else None,
        )


def control_app(sink: SmtpSink) -> Starlette:
    async def health(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def messages(request: Request) -> Response:
        return JSONResponse(sink.messages(request.query_params.get("to")))

    async def stats(_request: Request) -> Response:
        return JSONResponse({"replies": {str(k): v for k, v in sink.replies.items()}})

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            try:
                sink.set_faults(await request.json())
            except (FaultConfigError, ValueError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(sink.faults.to_dict())

    async def reset(_request: Request) -> Response:
        sink.reset()
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/_sim/health", health),
            Route("/_sim/messages", messages),
            Route("/_sim/stats", stats),
            Route("/_sim/faults", faults, methods=["GET", "PUT"]),
            Route("/_sim/reset", reset, methods=["POST"]),
        ]
    )


def _smtp_factory(spec: SmtpLaunchSpec, sink: SmtpSink) -> SMTP:
    tls_context = None
    if spec.tls is not None:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(spec.tls.cert_file, spec.tls.key_file)
    return SMTP(
        sink,
        hostname="pushwise-smtp-sim",
        tls_context=tls_context,
        require_starttls=tls_context is not None,
        auth_required=spec.credentials is not None,
        auth_require_tls=tls_context is not None,
        authenticator=sink.authenticate,
    )


async def serve(spec: SmtpLaunchSpec) -> None:
    sink = SmtpSink(spec.faults, spec.seed, spec.credentials)
    loop = asyncio.get_running_loop()
    smtp_server = await loop.create_server(lambda: _smtp_factory(spec, sink), spec.host, spec.port)
    config = uvicorn.Config(
        control_app(sink), host=spec.host, port=spec.control_port, log_level="warning", lifespan="off"
    )
    control = uvicorn.Server(config)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: setattr(control, "should_exit", True))
    try:
        await control.serve()
    finally:
        smtp_server.close()
        await smtp_server.wait_closed()


if __name__ == "__main__":
    asyncio.run(serve(SmtpLaunchSpec.read(Path(sys.argv[1]))))
