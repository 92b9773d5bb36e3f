"""Options and fault flags the `pushwise simulate ...` commands share.

Each simulator's command (`simulators/<name>/cli.py`) keeps its own options; these are
the ones that mean the same everywhere, so `--seed` or `--latency-ms` reads alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

Host = Annotated[str, typer.Option(help="Address to bind; keep it on loopback.")]
Tls = Annotated[bool, typer.Option("--tls/--no-tls", help="TLS with ALPN h2, or h2c (prior knowledge).")]
FaultsFile = Annotated[Path | None, typer.Option("--faults", help="Fault configuration as a JSON file.")]
LatencyMs = Annotated[str | None, typer.Option(help="MIN:MAX milliseconds of latency per response.")]
Seed = Annotated[int, typer.Option(help="Seed of the fault injection's random sequence.")]


def read_fault_file(file: Path | None) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(file.read_text()) if file else {}
    return config


def add_fault_rates(
    config: dict[str, Any], key: str, rates: list[str], metavar: str, name: Callable[[str], str]
) -> None:
    """Merge `--fault-rate NAME=P` flags into `config[key]` (flags win over the file)."""
    table = dict(config.get(key) or {})
    for rate in rates:
        outcome, sep, probability = rate.partition("=")
        if not sep:
            raise typer.BadParameter(f"--fault-rate wants {metavar}=P, got {rate!r}")
        table[name(outcome.strip())] = float(probability)
    if table:
        config[key] = table


def latency_range(text: str) -> dict[str, float]:
    """`MIN:MAX` (or one number for a fixed latency) as the faults' `latency_ms`."""
    low, sep, high = text.partition(":")
    return {"min": float(low), "max": float(high if sep else low)}


def echo_fields(fields: dict[str, str], width: int) -> None:
    for name, value in fields.items():
        typer.echo(f"{name:>{width}}: {value}")


def wait_for_interrupt() -> None:
    """Block the foreground command until Ctrl-C; the caller's `with handle:` then stops the simulator."""
    typer.echo("serving; Ctrl-C stops")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
