"""`pushwise simulate smtp`: run the SMTP sink in the foreground until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from pushwise.simulators.command_line import Seed, wait_for_interrupt
from pushwise.simulators.smtp.harness import start_smtp_simulator


def run_smtp(
    port: Annotated[int, typer.Option(help="SMTP port on 127.0.0.1 (0 picks a free one).")] = 0,
    starttls: Annotated[bool, typer.Option(help="Offer and require STARTTLS, with a CA of its own.")] = False,
    user: Annotated[str | None, typer.Option(help="Require AUTH with this user name.")] = None,
    password: Annotated[str | None, typer.Option(help="Password for --user.")] = None,
    seed: Seed = 0,
    faults: Annotated[
        str | None,
        typer.Option(help='Fault JSON, e.g. \'{"codes": {"450": 0.05, "550": 0.01}, "auth_failure": 0.1}\'.'),
    ] = None,
) -> None:
    """Run a loopback SMTP sink that keeps what it accepts (inspect it at the control URL)."""
    if (user is None) != (password is None):
        raise typer.BadParameter("--user and --password go together")
    credentials = (user, password) if user is not None and password is not None else None
    fault_config = orjson.loads(faults) if faults else None
    with start_smtp_simulator(
        starttls=starttls, auth=credentials, faults=fault_config, seed=seed, port=port
    ) as simulator:
        typer.echo(f"smtp:    {simulator.host}:{simulator.port}")
        typer.echo(f"control: {simulator.control_url}  (GET messages?to=, PUT faults, POST reset)")
        if simulator.ca_file:
            typer.echo(f"ca_file: {simulator.ca_file}")
        wait_for_interrupt()
