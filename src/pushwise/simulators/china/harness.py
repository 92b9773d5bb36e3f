"""Start a vendor simulator in its own process and talk to its control API.

with start_vendor_simulator("huawei", faults={"dead_tokens": ["t1"]}) as sim:
    PUT /v1/apps/{app}/providers/huawei with sim.provider_config() ...
    assert sim.token_counts()["t2"]["delivered"] == 1
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pushwise.simulators.apns.certs import issue_server_tls
from pushwise.simulators.china.faults import parse_vendor_faults
from pushwise.simulators.china.huawei_honor import HONOR_TOKEN_PATH, HUAWEI_TOKEN_PATH
from pushwise.simulators.china.server import VendorLaunchSpec
from pushwise.simulators.handle import TokenCounting, free_port, spawn, work_directory

TOKEN_PATHS = {"huawei": HUAWEI_TOKEN_PATH, "honor": HONOR_TOKEN_PATH}


def new_credentials(vendor: str) -> dict[str, str]:
    """Credentials as the vendor's console would issue them (random, for one simulator)."""
    number = str(100_000_000 + secrets.randbelow(900_000_000))
    made = {
        "huawei": {"client_id": number, "client_secret": secrets.token_hex(32)},
        "honor": {
            "app_id": number,
            "client_id": secrets.token_hex(8),
            "client_secret": secrets.token_hex(32),
        },
        "xiaomi": {"app_secret": secrets.token_urlsafe(18), "package_name": "com.example.shop"},
        "oppo": {"app_key": secrets.token_hex(16), "master_secret": secrets.token_hex(16)},
        "vivo": {"app_id": number[:5], "app_key": secrets.token_hex(16), "app_secret": secrets.token_hex(16)},
    }
    return made[vendor]


@dataclass(frozen=True)
class VendorSimulatorHandle(TokenCounting):
    """stats(): total, delivered, by_status (per token), by_reason, auth, by_class, dropped_by_quota."""

    LABEL = "vendor simulator"

    vendor: str
    endpoint: str
    ca_file: str | None
    credentials: dict[str, str] = field(repr=False)
    service_channels: tuple[str, ...] = ("service",)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    _owned_workdir: str | None = field(default=None, repr=False, compare=False)

    @property
    def control_url(self) -> str:
        return f"{self.endpoint}/_sim"

    @property
    def token_uri(self) -> str | None:
        path = TOKEN_PATHS.get(self.vendor)
        return self.endpoint + path if path else None

    def provider_config(self) -> dict[str, Any]:
        """The body of `PUT /v1/apps/{app_id}/providers/{vendor}` that points pushwise here."""
        config: dict[str, Any] = {**self.credentials, "endpoint": self.endpoint}
        if self.token_uri:
            config["token_uri"] = self.token_uri
        if self.ca_file:
            config["ca_file"] = self.ca_file
        return config

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on."""
        self._call("POST", "expire-tokens")


def start_vendor_simulator(
    vendor: str,
    *,
    tls: bool = False,
    faults: dict[str, Any] | None = None,
    seed: int = 0,
    workdir: str | None = None,
    port: int = 0,
    host: str = "127.0.0.1",
    service_channels: tuple[str, ...] = ("service",),
) -> VendorSimulatorHandle:
    parse_vendor_faults(vendor, faults)  # fail here, in the caller, rather than in the server process
    directory, owned = work_directory(workdir, f"pushwise-{vendor}-sim-")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        spec = VendorLaunchSpec(
            vendor=vendor,
            host=host,
            port=port or free_port(),
            credentials=new_credentials(vendor),
            tls=issue_server_tls(directory)[0] if tls else None,
            service_channels=service_channels,
            faults=dict(faults or {}),
            seed=seed,
        )
    except Exception:
        if owned:
            shutil.rmtree(owned, ignore_errors=True)
        raise
    return launch(spec, directory, owned)


def launch(spec: VendorLaunchSpec, directory: Path, owned: str | None) -> VendorSimulatorHandle:
    spec_file, log_file = directory / "simulator.json", directory / "simulator.log"
    spec.write(spec_file)
    process = spawn("pushwise.simulators.china.server", spec_file, log_file)
    return VendorSimulatorHandle(
        vendor=spec.vendor,
        endpoint=spec.endpoint,
        ca_file=spec.tls.ca_file if spec.tls else None,
        credentials=spec.credentials,
        service_channels=spec.service_channels,
        _process=process,
        _owned_workdir=owned,
    ).wait_until_ready(log_file)


async def astart_vendor_simulator(vendor: str, **options: Any) -> VendorSimulatorHandle:
    return await asyncio.to_thread(start_vendor_simulator, vendor, **options)
