"""A vendor simulator process: `python -m pushwise.simulators.china.server SPEC.json`.

granian serves HTTP/1.1 and h2 (chosen by ALPN over TLS), as the vendors do; one
process keeps one copy of the counters until SIGTERM or SIGINT.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pushwise.simulators.apns.certs import TlsFiles
from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.apns.recording import DEFAULT_HISTORY_SIZE, Recorder
from pushwise.simulators.china.control import VendorControlApi
from pushwise.simulators.china.faults import parse_vendor_faults
from pushwise.simulators.china.huawei_honor import SimulatedHonor, SimulatedHuawei
from pushwise.simulators.china.oppo_vivo import SimulatedOppo, SimulatedVivo
from pushwise.simulators.china.service import SimulatedVendor, VendorAccount
from pushwise.simulators.china.xiaomi import SimulatedXiaomi
from pushwise.simulators.rsgi import (
    SimulatorRsgiApp,
    run_event_loop,
    serve_rsgi,
    server_tls,
    spec_argument,
    stop_on_signals,
)

SIMULATORS: dict[str, type[SimulatedVendor]] = {
    "huawei": SimulatedHuawei,
    "honor": SimulatedHonor,
    "xiaomi": SimulatedXiaomi,
    "oppo": SimulatedOppo,
    "vivo": SimulatedVivo,
}


@dataclass(frozen=True, slots=True)
class VendorLaunchSpec:
    vendor: str
    host: str
    port: int
    credentials: dict[str, str]
    tls: TlsFiles | None
    service_channels: tuple[str, ...] = ("service",)
    faults: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    history_size: int = DEFAULT_HISTORY_SIZE

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def write(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))

    @classmethod
    def read(cls, path: Path) -> VendorLaunchSpec:
        raw = orjson.loads(path.read_bytes())
        tls = raw.pop("tls")
        channels = tuple(raw.pop("service_channels"))
        return cls(**raw, tls=TlsFiles(**tls) if tls else None, service_channels=channels)


def build_vendor(spec: VendorLaunchSpec) -> SimulatedVendor:
    account = VendorAccount(spec.vendor, spec.credentials, spec.service_channels)
    return SIMULATORS[spec.vendor](
        account,
        parse_vendor_faults(spec.vendor, spec.faults),
        seed=spec.seed,
        recorder=Recorder(spec.history_size),
    )


async def serve(spec: VendorLaunchSpec) -> None:
    stop = stop_on_signals()
    service = build_vendor(spec)

    def answer(scope: Any, body: bytes) -> Reply:
        return service.answer(scope.method, scope.path, scope.headers, body)

    app = SimulatorRsgiApp(answer, VendorControlApi(service))
    await serve_rsgi(app, spec.host, spec.port, server_tls(spec.tls), stop)


def main(argv: list[str] | None = None) -> None:
    run_event_loop(serve(VendorLaunchSpec.read(spec_argument(argv, "pushwise.simulators.china.server"))))


if __name__ == "__main__":
    main()
