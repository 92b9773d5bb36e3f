"""`pushwise simulate webpush`: run the simulated push service in the foreground until Ctrl-C.

The lead registers `webpush` on the `simulate` Typer app. It prints the origin and
control URL, and can create subscriptions up front (written as JSON, one
`PushSubscription.toJSON()` per element) for the demo or a benchmark to register.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import orjson
import typer

from pushwise.simulators.command_line import Seed, wait_for_interrupt
from pushwise.simulators.webpush.harness import start_webpush_simulator


def webpush(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 0,
    tls: Annotated[
        bool, typer.Option(help="Serve https (h2 and http/1.1 by ALPN) with a CA of its own.")
    ] = False,
    seed: Seed = 0,
    faults: Annotated[
        str | None,
        typer.Option(help='Fault JSON, e.g. \'{"statuses": {"410": 0.01}, "retry_after_seconds": 2}\'.'),
    ] = None,
    decrypt: Annotated[bool, typer.Option(help="Decrypt and keep recent messages (off: count only).")] = True,
    subscriptions: Annotated[int, typer.Option(help="Subscriptions to create at start.")] = 0,
    subscriptions_file: Annotated[
        Path | None, typer.Option(help="Write the created subscriptions here as a JSON list.")
    ] = None,
    application_server_key: Annotated[
        str | None, typer.Option(help="VAPID public key the subscriptions are bound to (others get 403).")
    ] = None,
) -> None:
    """Run a loopback Web Push service that verifies VAPID and decrypts what it accepts."""
    fault_config = orjson.loads(faults) if faults else None
    # A process manager stops us with SIGTERM: leave through `with` so the service process stops too.
    signal.signal(signal.SIGTERM, _exit_quietly)
    with start_webpush_simulator(
        faults=fault_config, seed=seed, port=port, tls=tls, decrypt=decrypt
    ) as simulator:
        typer.echo(f"origin:  {simulator.origin}")
        typer.echo(f"control: {simulator.control_url}")
        if simulator.ca_file:
            typer.echo(f"ca_file: {simulator.ca_file}")
        if subscriptions:
            made = simulator.new_subscriptions(subscriptions, application_server_key)
            if subscriptions_file:
                subscriptions_file.write_bytes(orjson.dumps(made))
                typer.echo(f"wrote {len(made)} subscriptions to {subscriptions_file}")
            else:
                for subscription in made:
                    typer.echo(orjson.dumps(subscription).decode())
        wait_for_interrupt()


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)
