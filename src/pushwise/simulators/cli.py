"""`pushwise simulate ...`: one sub-command per simulated provider.

Each simulator keeps its command in its own package (`simulators/<name>/cli.py`)
and is registered here with one line, so adding FCM, Web Push or SMTP does not
touch the others.
"""

from __future__ import annotations

import typer

from pushwise.domain.china.vendors import VENDORS
from pushwise.simulators.apns.cli import run_apns
from pushwise.simulators.china.cli import vendor_command
from pushwise.simulators.fcm.cli import run_fcm
from pushwise.simulators.smtp.cli import run_smtp
from pushwise.simulators.webpush.cli import webpush as run_webpush

simulate_app = typer.Typer(no_args_is_help=True)


@simulate_app.callback()
def simulate() -> None:
    """Run loopback provider simulators (127.0.0.1 only), or a population study (`population`)."""
    # A callback keeps `simulate` a command group even while it has a single sub-command.


simulate_app.command("apns")(run_apns)
simulate_app.command("fcm")(run_fcm)
simulate_app.command("webpush")(run_webpush)
simulate_app.command("smtp")(run_smtp)
for _vendor in VENDORS:
    simulate_app.command(_vendor)(vendor_command(_vendor))
