"""Start a simulated APNs in its own process and talk to its control API.

The simulator runs in a subprocess so that it never competes with the code
under test for the event loop (and so the benchmark peer gets its own core).

    with start_apns_simulator(faults={"reasons": {"ServiceUnavailable": 0.05}}) as sim:
        ...configure pushwise with sim.endpoint, sim.ca_file, sim.team_id, sim.key_id, sim.private_key_pem...
        assert sim.token_counts()[token]["delivered"] == 1
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from pushwise.simulators.apns.provisioning import provision

_READY_TIMEOUT_S = 30.0
_CONTROL_TIMEOUT_S = 60.0  # per-token counts for 100k tokens are a few MB of JSON


class SimulatorControlError(RuntimeError):
    """The control API refused a call (bad fault configuration, unsupported by the engine)."""


@dataclass(frozen=True)
class ApnsSimulatorHandle:
    endpoint: str  # "https://127.0.0.1:PORT" (TLS) or "http://127.0.0.1:PORT" (h2c)
    ca_file: str | None  # path of the CA PEM to trust (TLS mode)
    team_id: str
    key_id: str
    private_key_pem: str  # the .p8 (PKCS#8 PEM, EC P-256) signing key this simulator trusts
    topic: str  # the bundle id it accepts
    control_url: str  # base URL of the control API
    private_key_file: str = ""  # the same key as an AuthKey_<KEYID>.p8 file
    engine: str = "granian"
    # Certificate auth only: the client certificate (subject UID = topic) signed by the simulator's CA.
    client_cert_file: str | None = None
    client_key_file: str | None = None
    client_identity_file: str | None = None  # certificate + key in one PEM
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    _owned_workdir: str | None = field(default=None, repr=False, compare=False)

    def stats(self) -> dict[str, Any]:
        """Counters: total, delivered, dropped, by_status, by_reason, tokens, connection_events, outage."""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def token_counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = self._call("GET", "tokens")
        return result

    def received(self, token: str) -> list[dict[str, Any]]:
        """Recent requests for `token` (oldest first): token, at, headers, payload, status, reason."""
        result: list[dict[str, Any]] = self._call("GET", f"tokens/{token}")
        return result

    def set_faults(self, faults: dict[str, Any]) -> None:
        self._call("PUT", "faults", faults)

    def set_outage(self, on: bool) -> None:
        self._call("PUT", "outage", {"on": on})

    def reset(self) -> None:
        self._call("POST", "reset")

    async def astats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._acall("GET", "stats")
        return result

    async def atoken_counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = await self._acall("GET", "tokens")
        return result

    async def areceived(self, token: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._acall("GET", f"tokens/{token}")
        return result

    async def aset_faults(self, faults: dict[str, Any]) -> None:
        await self._acall("PUT", "faults", faults)

    async def aset_outage(self, on: bool) -> None:
        await self._acall("PUT", "outage", {"on": on})

    async def areset(self) -> None:
        await self._acall("POST", "reset")

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

    def __enter__(self) -> ApnsSimulatorHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def control_client_options(self) -> dict[str, Any]:
        """httpx client options that reach the control API (HTTP/2: the `h2` engine speaks nothing else)."""
        options: dict[str, Any] = {
            "http2": True,
            "http1": self.ca_file is not None,
            "timeout": _CONTROL_TIMEOUT_S,
        }
        if self.ca_file:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.client_cert_file and self.client_key_file:
                context.load_cert_chain(self.client_cert_file, self.client_key_file)
            options["verify"] = context
        return options

    def _call(self, method: str, route: str, body: Any = None) -> Any:
        with httpx.Client(**self.control_client_options()) as client:
            return _result(client.request(method, f"{self.control_url}/{route}", json=body))

    async def _acall(self, method: str, route: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(**self.control_client_options()) as client:
            return _result(await client.request(method, f"{self.control_url}/{route}", json=body))


def _result(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise SimulatorControlError(response.json().get("error", response.text))
    return response.json()


def start_apns_simulator(
    *,
    tls: bool = True,
    faults: dict[str, Any] | None = None,
    seed: int = 0,
    workdir: str | None = None,
    port: int = 0,
    engine: str = "auto",
    topic: str = "com.example.shop",
    auth: str = "token",
) -> ApnsSimulatorHandle:
    """Start the simulator in a subprocess, wait until it accepts connections, return the handle.

    `engine`: "granian" (fast), "h2" (can drop connections and send GOAWAY) or "auto" (h2 only when the
    faults need it). `auth`: "token" (JWT) or "certificate" (client TLS certificate; needs `tls`).
    """
    owned = None if workdir else tempfile.mkdtemp(prefix="pushwise-apns-sim-")
    directory = Path(workdir or owned or ".")
    try:
        made = provision(
            directory,
            port=port or _free_port(),
            tls=tls,
            auth=auth,
            topic=topic,
            faults=faults,
            seed=seed,
            engine=engine,
        )
    except Exception:
        if owned:
            shutil.rmtree(owned, ignore_errors=True)
        raise
    spec_file = directory / "simulator.json"
    replace(made.spec, parent_pid=os.getpid()).write(spec_file)
    with (directory / "simulator.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "pushwise.simulators.apns.server", str(spec_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    identity = made.client_identity
    handle = ApnsSimulatorHandle(
        endpoint=made.spec.endpoint,
        ca_file=made.spec.tls.ca_file if made.spec.tls else None,
        team_id=made.signing_key.team_id,
        key_id=made.signing_key.key_id,
        private_key_pem=made.signing_key.private_key_pem,
        topic=topic,
        control_url=f"{made.spec.endpoint}/_sim",
        private_key_file=made.private_key_file,
        engine=made.spec.engine,
        client_cert_file=identity.cert_file if identity else None,
        client_key_file=identity.key_file if identity else None,
        client_identity_file=identity.identity_file if identity else None,
        _process=process,
        _owned_workdir=owned,
    )
    try:
        _wait_until_ready(handle, process, directory / "simulator.log")
    except BaseException:
        handle.stop()
        raise
    return handle


async def astart_apns_simulator(**options: Any) -> ApnsSimulatorHandle:
    """`start_apns_simulator` without blocking the caller's event loop."""
    return await asyncio.to_thread(start_apns_simulator, **options)


def _wait_until_ready(handle: ApnsSimulatorHandle, process: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    with httpx.Client(**{**handle.control_client_options(), "timeout": 2.0}) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"APNs simulator exited with {process.returncode}:\n{log_file.read_text()}"
                )
            try:
                if client.get(f"{handle.control_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"APNs simulator did not start within {_READY_TIMEOUT_S}s:\n{log_file.read_text()}")


def _free_port() -> int:
    """A port the kernel just considered free; the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
