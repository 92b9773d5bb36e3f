"""`pushwise simulate fcm`: run the FCM simulator in the foreground for demos and manual tests."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

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
from pushwise.simulators.fcm.provisioning import provision_fcm
from pushwise.simulators.fcm.server import run


def run_fcm(
    host: Host = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port for FCM, its OAuth2 token endpoint and /_sim control.")
    ] = 8443,
    tls: Tls = True,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Where the CA, certificates and service-account JSON are written (default: a temp dir)."
        ),
    ] = None,
    project_id: Annotated[
        str, typer.Option(help="The Firebase project id the simulator serves.")
    ] = "pushwise-sim",
    faults: FaultsFile = None,
    fault_rate: Annotated[
        list[str] | None,
        typer.Option("--fault-rate", help="ERROR_CODE=P, e.g. UNAVAILABLE=0.05 (repeatable)."),
    ] = None,
    retry_after: Annotated[
        int | None, typer.Option(help="Retry-After seconds sent with QUOTA_EXCEEDED and UNAVAILABLE.")
    ] = None,
    dead_token_prefix: Annotated[
        str | None, typer.Option(help="Tokens starting with this prefix answer 404 UNREGISTERED.")
    ] = None,
    latency_ms: LatencyMs = None,
    seed: Seed = 0,
) -> None:
    """Simulate Firebase Cloud Messaging's HTTP v1 API and Google's OAuth2 token endpoint, with faults."""
    fault_config = _fault_config(faults, fault_rate or [], retry_after, dead_token_prefix, latency_ms)
    directory = workdir or Path(tempfile.mkdtemp(prefix="pushwise-fcm-sim-"))
    try:
        made = provision_fcm(
            directory, host=host, port=port, tls=tls, project_id=project_id, faults=fault_config, seed=seed
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    made.spec.write(directory / "simulator.json")
    spec = made.spec
    lines = {
        "endpoint": spec.endpoint,
        "token uri": spec.token_uri,
        "ca file": spec.tls.ca_file if spec.tls else "(none: h2c)",
        "service account": made.service_account_file,
        "project id": spec.project_id,
        "control url": f"{spec.endpoint}/_sim",
    }
    echo_fields(lines, 16)
    run(spec)


def _fault_config(
    file: Path | None,
    rates: list[str],
    retry_after: int | None,
    dead_token_prefix: str | None,
    latency_ms: str | None,
) -> dict[str, Any]:
    config = read_fault_file(file)
    add_fault_rates(config, "error_codes", rates, "ERROR_CODE", str.upper)
    if retry_after is not None:
        config["retry_after_seconds"] = retry_after
    if dead_token_prefix:
        config["dead_token_prefix"] = dead_token_prefix
    if latency_ms:
        config["latency_ms"] = latency_range(latency_ms)
    return config
