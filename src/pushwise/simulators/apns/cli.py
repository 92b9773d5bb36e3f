"""`pushwise simulate apns`: run the APNs simulator in the foreground for demos and manual tests."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from pushwise.simulators.apns.provisioning import provision
from pushwise.simulators.apns.server import run
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


def run_apns(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (Apple's alternative APNs port by default).")] = 2197,
    tls: Tls = True,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Where the CA, certificates and .p8 key are written (default: a new temp dir)."),
    ] = None,
    faults: FaultsFile = None,
    fault_rate: Annotated[
        list[str] | None,
        typer.Option("--fault-rate", help="REASON=P, e.g. ServiceUnavailable=0.05 (repeatable)."),
    ] = None,
    dead_token_prefix: Annotated[
        str | None, typer.Option(help="Tokens starting with this hex prefix answer 410 Unregistered.")
    ] = None,
    latency_ms: LatencyMs = None,
    seed: Seed = 0,
    engine: Annotated[str, typer.Option(help="granian (fast), h2 (connection faults) or auto.")] = "auto",
    topic: Annotated[str, typer.Option(help="The bundle id the simulated app accepts.")] = "com.example.shop",
    auth: Annotated[str, typer.Option(help="token (JWT) or certificate (client TLS certificate).")] = "token",
) -> None:
    """Simulate Apple's APNs provider API (HTTP/2) with fault injection."""
    fault_config = _fault_config(faults, fault_rate or [], dead_token_prefix, latency_ms)
    directory = workdir or Path(tempfile.mkdtemp(prefix="pushwise-apns-sim-"))
    try:
        made = provision(
            directory,
            host=host,
            port=port,
            tls=tls,
            auth=auth,
            topic=topic,
            faults=fault_config,
            seed=seed,
            engine=engine,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    made.spec.write(directory / "simulator.json")
    spec = made.spec
    lines = {
        "endpoint": spec.endpoint,
        "ca file": spec.tls.ca_file if spec.tls else "(none: h2c)",
        "team id": made.signing_key.team_id,
        "key id": made.signing_key.key_id,
        "private key (.p8)": made.private_key_file,
        "topic": spec.topic,
        "control url": f"{spec.endpoint}/_sim",
        "engine": spec.engine,
    }
    if made.client_identity:
        lines["client identity"] = made.client_identity.identity_file
    echo_fields(lines, 18)
    run(spec)


def _fault_config(
    file: Path | None, rates: list[str], dead_token_prefix: str | None, latency_ms: str | None
) -> dict[str, Any]:
    config = read_fault_file(file)
    add_fault_rates(config, "reasons", rates, "REASON", str)
    if dead_token_prefix:
        config["dead_token_prefix"] = dead_token_prefix
    if latency_ms:
        config["latency_ms"] = latency_range(latency_ms)
    return config
