"""Start the SMTP sink in its own process and talk to its control API.

with start_smtp_simulator(starttls=True, auth=("mailer", "s3cret")) as sim:
    ...configure pushwise with sim.host, sim.port, sim.ca_file and send...
    assert sim.messages(to="ada@example.com")[0]["subject"] == "Hi"
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from pushwise.simulators.apns.certs import issue_server_tls
from pushwise.simulators.apns.harness import SimulatorControlError, _free_port
from pushwise.simulators.smtp.faults import parse_faults
from pushwise.simulators.smtp.server import SmtpLaunchSpec

_READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SmtpSimulatorHandle:
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

    def stats(self) -> dict[str, Any]:
        """{"replies": {"250": n, "550": n, ...}}: every reply code the sink gave."""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def set_faults(self, faults: dict[str, Any]) -> None:
        parse_faults(faults)
        self._call("PUT", "faults", json=faults)

    def reset(self) -> None:
        """Forget messages and faults; restart the fault draws from the seed."""
        self._call("POST", "reset")

    def stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._owned_workdir:
            shutil.rmtree(self._owned_workdir, ignore_errors=True)

    def __enter__(self) -> SmtpSimulatorHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _call(
        self, method: str, route: str, *, json: Any = None, params: dict[str, str] | None = None
    ) -> Any:
        with httpx.Client(timeout=30.0) as client:
            response = client.request(method, f"{self.control_url}/{route}", json=json, params=params)
        if response.status_code != 200:
            raise SimulatorControlError(response.json().get("error", response.text))
        return response.json()


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
    spec = SmtpLaunchSpec(
        "127.0.0.1", port or _free_port(), _free_port(), tls, auth, dict(faults or {}), seed
    )
    spec_file = directory / "smtp-simulator.json"
    spec.write(spec_file)
    log_file = directory / "smtp-simulator.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "pushwise.simulators.smtp.server", str(spec_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    handle = SmtpSimulatorHandle(
        spec.host, spec.port, spec.control_port, tls.ca_file if tls else None, process, workdir
    )
    try:
        _wait_until_ready(handle, process, log_file)
    except BaseException:
        handle.stop()
        raise
    return handle


def _wait_until_ready(handle: SmtpSimulatorHandle, process: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"SMTP simulator exited with {process.returncode}:\n{log_file.read_text()}"
                )
            try:
                if client.get(f"{handle.control_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"SMTP simulator did not start within {_READY_TIMEOUT_S}s:\n{log_file.read_text()}")
