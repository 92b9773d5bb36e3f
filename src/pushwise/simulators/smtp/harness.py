"""Start the SMTP sink in its own process and talk to its control API.

with start_smtp_simulator(starttls=True, auth=("mailer", "s3cret")) as sim:
    ...configure pushwise with sim.host, sim.port, sim.ca_file and send...
    assert sim.messages(to="ada@example.com")[0]["subject"] == "Hi"
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pushwise.simulators.apns.certs import issue_server_tls
from pushwise.simulators.handle import SimulatorHandle, free_port, spawn
from pushwise.simulators.smtp.faults import parse_faults
from pushwise.simulators.smtp.server import SmtpLaunchSpec


@dataclass(frozen=True)
class SmtpSimulatorHandle(SimulatorHandle):
    """stats(): {"replies": {"250": n, "550": n, ...}}: every reply code the sink gave."""

    LABEL = "SMTP simulator"
    CONTROL_TIMEOUT_S = 30.0

    host: str
    port: int
    control_port: int
    ca_file: str | None  # the CA to trust for STARTTLS
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    _owned_workdir: str | None = field(default=None, repr=False, compare=False)

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.control_port}/_sim"

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """Accepted messages, oldest first: mail_from, rcpt_tos, subject, text, html, headers."""
        result: list[dict[str, Any]] = self._call("GET", "messages", params={"to": to} if to else None)
        return result

    def set_faults(self, faults: dict[str, Any]) -> None:
        parse_faults(faults)  # fail here, in the caller, with the parser's own message
        super().set_faults(faults)


def start_smtp_simulator(
    *,
    starttls: bool = False,
    auth: tuple[str, str] | None = None,
    faults: dict[str, Any] | None = None,
    seed: int = 0,
    port: int = 0,
) -> SmtpSimulatorHandle:
    """Start the sink in a subprocess, wait until its control API answers, return the handle.

    `starttls` offers and requires STARTTLS with a CA of its own (`ca_file`);
    `auth=(user, password)` requires AUTH PLAIN/LOGIN with those credentials.
    """
    parse_faults(faults)
    workdir = tempfile.mkdtemp(prefix="pushwise-smtp-sim-")
    directory = Path(workdir)
    tls = issue_server_tls(directory)[0] if starttls else None
    spec = SmtpLaunchSpec("127.0.0.1", port or free_port(), free_port(), tls, auth, dict(faults or {}), seed)
    spec_file = directory / "smtp-simulator.json"
    spec.write(spec_file)
    log_file = directory / "smtp-simulator.log"
    process = spawn("pushwise.simulators.smtp.server", spec_file, log_file)
    return SmtpSimulatorHandle(
        spec.host, spec.port, spec.control_port, tls.ca_file if tls else None, process, workdir
    ).wait_until_ready(log_file)
