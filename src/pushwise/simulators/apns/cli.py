"""`pushwise simulate apns`: run the APNs simulator in the foreground for demos and manual tests."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from pushwise.simulators.apns.provisioning import provision
from pushwise.simulators.apns.server import run


def run_apns(
    host: Annotated[str, typer.Option(help="Address to bind; keep it on loopback.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (Apple's alternative APNs port by default).")] = 2197,
    tls: Annotated[
        bool, typer.Option("--tls/--no-tls", help="TLS with ALPN h2, or h2c (prior knowledge).")
    ] = True,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Where the CA, certificates and .p8 key are written (default: a new temp dir)."),
    ] = None,
    faults: Annotated[
        Path | None, typer.Option("--faults", help="Fault configuration as a JSON file.")
    ] = None,
    fault_rate: Annotated[
        list[str] | None,
        typer.Option("--fault-rate", help="REASON=P, e.g. ServiceUnavailable=0.05 (repeatable)."),
    ] = None,
    dead_token_prefix: Annotated[
        str | None, typer.Option(help="Tokens starting with this hex prefix answer 410 Unregistered.")
    ] = None,
    latency_ms: Annotated[
        str | None, typer.Option(help="MIN:MAX milliseconds of latency per response.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the fault injection's random sequence.")] = 0,
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
    for name, value in lines.items():
        typer.echo(f"{name:>18}: {value}")
    run(spec)


def _fault_config(
    file: Path | None, rates: list[str], dead_token_prefix: str | None, latency_ms: str | None
) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(file.read_text()) if file else {}
    reasons = dict(config.get("reasons") or {})
    for rate in rates:
        reason, sep, probability = rate.partition("=")
        if not sep:
            raise typer.BadParameter(f"--fault-rate wants REASON=P, got {rate!r}")
        reasons[reason.strip()] = float(probability)
    if reasons:
        config["reasons"] = reasons
    if dead_token_prefix:
        config["dead_token_prefix"] = dead_token_prefix
    if latency_ms:
        low, sep, high = latency_ms.partition(":")
        config["latency_ms"] = {"min": float(low), "max": float(high if sep else low)}
    return config
