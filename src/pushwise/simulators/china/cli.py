"""`pushwise simulate huawei|honor|xiaomi|oppo|vivo`: a vendor simulator in the foreground."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from pushwise.simulators.apns.certs import issue_server_tls
from pushwise.simulators.china.faults import parse_vendor_faults
from pushwise.simulators.china.harness import TOKEN_PATHS, new_credentials
from pushwise.simulators.china.server import VendorLaunchSpec, main
from pushwise.simulators.command_line import (
    FaultsFile,
    Host,
    LatencyMs,
    Seed,
    Tls,
    add_fault_rates,
    echo_fields,
    latency_range,
    read_fault_file,
)
from pushwise.simulators.faults import FaultConfigError


def vendor_command(vendor: str) -> Callable[..., None]:
    def run_vendor(
        host: Host = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port for the service, its auth endpoint and /_sim.")] = 8500,
        tls: Tls = False,
        faults: FaultsFile = None,
        fault_rate: Annotated[
            list[str] | None,
            typer.Option(
                "--fault-rate", help="FAULT=P: flow_control, unavailable, token_expired, quota_spent."
            ),
        ] = None,
        dead_token_prefix: Annotated[
            str | None, typer.Option(help="Tokens starting with this prefix are dead.")
        ] = None,
        marketing_per_device_day: Annotated[
            int | None, typer.Option(help="Marketing pushes a token may get per Shanghai day.")
        ] = None,
        latency_ms: LatencyMs = None,
        seed: Seed = 0,
    ) -> None:
        config = read_fault_file(faults)
        add_fault_rates(config, "error_rates", fault_rate or [], "FAULT", str.lower)
        if dead_token_prefix:
            config["dead_token_prefix"] = dead_token_prefix
        if marketing_per_device_day is not None:
            config["marketing_per_device_day"] = marketing_per_device_day
        if latency_ms:
            config["latency_ms"] = latency_range(latency_ms)
        try:
            parse_vendor_faults(vendor, config)
        except FaultConfigError as exc:
            raise typer.BadParameter(str(exc)) from exc
        directory = Path(tempfile.mkdtemp(prefix=f"pushwise-{vendor}-sim-"))
        spec = VendorLaunchSpec(
            vendor=vendor,
            host=host,
            port=port,
            credentials=new_credentials(vendor),
            tls=issue_server_tls(directory)[0] if tls else None,
            faults=config,
            seed=seed,
        )
        spec_file = directory / "simulator.json"
        spec.write(spec_file)
        lines = {"endpoint": spec.endpoint, **spec.credentials}
        if vendor in TOKEN_PATHS:
            lines["token_uri"] = spec.endpoint + TOKEN_PATHS[vendor]
        lines["ca_file"] = spec.tls.ca_file if spec.tls else "(none: plain http)"
        lines["control url"] = f"{spec.endpoint}/_sim"
        echo_fields(lines, 14)
        main([str(spec_file)])

    run_vendor.__doc__ = f"Simulate {vendor}'s push service (auth, signatures, classes) with faults."
    return run_vendor
