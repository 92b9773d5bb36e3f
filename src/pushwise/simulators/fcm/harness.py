"""Start a simulated FCM in its own process and talk to its control API.

The simulator runs in a subprocess so that it never competes with the code under
test for the event loop (and so the benchmark peer gets its own core).

    with start_fcm_simulator(faults={"error_codes": {"UNAVAILABLE": 0.05}}) as sim:
        credentials = FcmCredentials(sim.service_account, endpoint=sim.endpoint, ca_file=sim.ca_file)
        ...
        assert sim.token_counts()[token]["delivered"] == 1
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from pushwise.simulators.apns.harness import SimulatorControlError, _free_port
from pushwise.simulators.fcm.provisioning import provision_fcm

_READY_TIMEOUT_S = 30.0
_CONTROL_TIMEOUT_S = 60.0  # per-token counts for 100k tokens are a few MB of JSON


@dataclass(frozen=True)
class FcmSimulatorHandle:
    endpoint: str  # "https://127.0.0.1:PORT" (TLS) or "http://127.0.0.1:PORT" (h2c)
    token_uri: str  # the OAuth2 token endpoint; also the service account's own `token_uri`
    ca_file: str | None  # path of the CA PEM to trust (TLS mode)
    service_account: dict[str, Any] = field(repr=False)  # a Google service-account key file's JSON
    service_account_file: str  # the same JSON, written into the work directory
    project_id: str
    control_url: str  # base URL of the control API
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    _owned_workdir: str | None = field(default=None, repr=False, compare=False)

    def stats(self) -> dict[str, Any]:
        """Counters: total, delivered, by_status, by_reason (FCM error codes), tokens, outage, oauth."""
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

    def expire_access_tokens(self) -> None:
        """Every access token issued so far answers 401 UNAUTHENTICATED from now on."""
        self._call("POST", "expire-access-tokens")

    def reset(self) -> None:
        self._call("POST", "reset")

    async def astats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._acall("GET", "stats")
        return result

    async def aset_faults(self, faults: dict[str, Any]) -> None:
        await self._acall("PUT", "faults", faults)

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

    def __enter__(self) -> FcmSimulatorHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def control_client_options(self) -> dict[str, Any]:
        """httpx client options that reach the control API."""
        options: dict[str, Any] = {"timeout": _CONTROL_TIMEOUT_S}
        if self.ca_file:
            options["verify"] = ssl.create_default_context(cafile=self.ca_file)
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


def start_fcm_simulator(
    *,
    tls: bool = True,
    faults: dict[str, Any] | None = None,
    seed: int = 0,
    workdir: str | None = None,
    port: int = 0,
    project_id: str = "pushwise-sim",
) -> FcmSimulatorHandle:
    """Start the simulator in a subprocess, wait until it accepts connections, return the handle."""
    owned = None if workdir else tempfile.mkdtemp(prefix="pushwise-fcm-sim-")
    directory = Path(workdir or owned or ".")
    try:
        made = provision_fcm(
            directory, port=port or _free_port(), tls=tls, project_id=project_id, faults=faults, seed=seed
        )
    except Exception:
        if owned:
            shutil.rmtree(owned, ignore_errors=True)
        raise
    spec_file = directory / "simulator.json"
    made.spec.write(spec_file)
    with (directory / "simulator.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "pushwise.simulators.fcm.server", str(spec_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    handle = FcmSimulatorHandle(
        endpoint=made.spec.endpoint,
        token_uri=made.spec.token_uri,
        ca_file=made.spec.tls.ca_file if made.spec.tls else None,
        service_account=made.service_account,
        service_account_file=made.service_account_file,
        project_id=project_id,
        control_url=f"{made.spec.endpoint}/_sim",
        _process=process,
        _owned_workdir=owned,
    )
    try:
        _wait_until_ready(handle, process, directory / "simulator.log")
    except BaseException:
        handle.stop()
        raise
    return handle


async def astart_fcm_simulator(**options: Any) -> FcmSimulatorHandle:
    """`start_fcm_simulator` without blocking the caller's event loop."""
    return await asyncio.to_thread(start_fcm_simulator, **options)


def _wait_until_ready(handle: FcmSimulatorHandle, process: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    with httpx.Client(**{**handle.control_client_options(), "timeout": 2.0}) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"FCM simulator exited with {process.returncode}:\n{log_file.read_text()}")
            try:
                if client.get(f"{handle.control_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"FCM simulator did not start within {_READY_TIMEOUT_S}s:\n{log_file.read_text()}")
