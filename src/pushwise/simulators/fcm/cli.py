"""`pushwise simulate fcm`: run the FCM simulator in the foreground for demos and manual tests."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from pushwise.simulators.fcm.provisioning import provision_fcm
from pushwise.simulators.fcm.server import run


def run_fcm(
    host: Annotated[str, typer.Option(help="Address to bind; keep it on loopback.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port for FCM, its OAuth2 token endpoint and /_sim control.")
    ] = 8443,
    tls: Annotated[
        bool, typer.Option("--tls/--no-tls", help="TLS with ALPN h2, or h2c (prior knowledge).")
    ] = True,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Where the CA, certificates and service-account JSON are written (default: a temp dir)."
        ),
    ] = None,
    project_id: Annotated[
        str, typer.Option(help="The Firebase project id the simulator serves.")
    ] = "pushwise-sim",
    faults: Annotated[
        Path | None, typer.Option("--faults", help="Fault configuration as a JSON file.")
    ] = None,
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
    latency_ms: Annotated[str | None, typer.Option(help="MIN:MAX milliseconds of latency per send.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the fault injection's random sequence.")] = 0,
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
    for name, value in lines.items():
        typer.echo(f"{name:>16}: {value}")
    run(spec)


def _fault_config(
    file: Path | None,
    rates: list[str],
    retry_after: int | None,
    dead_token_prefix: str | None,
    latency_ms: str | None,
) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(file.read_text()) if file else {}
    codes = dict(config.get("error_codes") or {})
    for rate in rates:
        code, sep, probability = rate.partition("=")
        if not sep:
            raise typer.BadParameter(f"--fault-rate wants ERROR_CODE=P, got {rate!r}")
        codes[code.strip().upper()] = float(probability)
    if codes:
        config["error_codes"] = codes
    if retry_after is not None:
        config["retry_after_seconds"] = retry_after
    if dead_token_prefix:
        config["dead_token_prefix"] = dead_token_prefix
    if latency_ms:
        low, sep, high = latency_ms.partition(":")
        config["latency_ms"] = {"min": float(low), "max": float(high if sep else low)}
    return config
