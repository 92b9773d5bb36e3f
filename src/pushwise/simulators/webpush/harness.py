"""Start a simulated Web Push service in its own process and talk to its control API.

    with start_webpush_simulator(faults={"statuses": {"503": 0.05}}) as sim:
        subscription = sim.new_subscription()  # like PushSubscription.toJSON()
        ...send to it with pushwise...
        assert sim.received(subscription["endpoint"])[0]["payload"]["title"] == "Hi"

The service runs in a subprocess so it never competes with the code under test
for the event loop, and a benchmark's peer gets its own core.
"""

from __future__ import annotations

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

from pushwise.simulators.apns.certs import issue_server_tls
from pushwise.simulators.apns.harness import SimulatorControlError, _free_port
from pushwise.simulators.webpush.faults import parse_faults
from pushwise.simulators.webpush.server import PushLaunchSpec
from pushwise.simulators.webpush.subscriptions import PUSH_PREFIX

_READY_TIMEOUT_S = 30.0
_CONTROL_TIMEOUT_S = 120.0  # creating 100k subscriptions generates 100k key pairs


@dataclass(frozen=True)
class WebPushSimulatorHandle:
    origin: str  # "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT"
    ca_file: str | None  # the CA to trust in TLS mode
    decrypt: bool
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    _owned_workdir: str | None = field(default=None, repr=False, compare=False)

    @property
    def control_url(self) -> str:
        return f"{self.origin}/_sim"

    def new_subscription(self, application_server_key: str | None = None) -> dict[str, Any]:
        """A fresh subscription with real keys; with `application_server_key`, other VAPID keys get 403."""
        return self.new_subscriptions(1, application_server_key)[0]

    def new_subscriptions(
        self, count: int, application_server_key: str | None = None
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "POST", "subscriptions", {"count": count, "application_server_key": application_server_key}
        )
        return result

    def received(self, endpoint: str) -> list[dict[str, Any]]:
        """Accepted pushes to `endpoint`, oldest first: headers, body_bytes, plaintext, payload (JSON)."""
        result: list[dict[str, Any]] = self._call("GET", f"received/{_subscription_id(endpoint)}")
        return result

    def counts(self) -> dict[str, dict[str, int]]:
        """{endpoint: {"received": n, "delivered": n}} for every subscription that got a request."""
        raw: dict[str, dict[str, int]] = self._call("GET", "counts")
        return {f"{self.origin}{PUSH_PREFIX}{sub}": value for sub, value in raw.items()}

    def stats(self) -> dict[str, Any]:
        """total, delivered, undecryptable, by_status, subscriptions, outage."""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def set_faults(self, faults: dict[str, Any]) -> None:
        self._call("PUT", "faults", faults)

    def set_outage(self, on: bool) -> None:
        self._call("PUT", "outage", {"on": on})

    def reset(self) -> None:
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

    def __enter__(self) -> WebPushSimulatorHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _client(self, timeout: float = _CONTROL_TIMEOUT_S) -> httpx.Client:
        verify: ssl.SSLContext | bool = True
        if self.ca_file:
            verify = ssl.create_default_context(cafile=self.ca_file)
        return httpx.Client(timeout=timeout, verify=verify)

    def _call(self, method: str, route: str, body: Any = None) -> Any:
        with self._client() as client:
            response = client.request(method, f"{self.control_url}/{route}", json=body)
        if response.status_code != 200:
            raise SimulatorControlError(response.json().get("error", response.text))
        return response.json()


def start_webpush_simulator(
    *,
    faults: dict[str, Any] | None = None,
    seed: int = 0,
    port: int = 0,
    tls: bool = False,
    decrypt: bool = True,
    workdir: str | None = None,
) -> WebPushSimulatorHandle:
    """Start the push service in a subprocess, wait until it answers, return the handle.

    `decrypt=False` only counts (no decryption, no message history): for benchmarks.
    """
    parse_faults(faults)  # fail here, in the caller, rather than in the server process
    owned = None if workdir else tempfile.mkdtemp(prefix="pushwise-webpush-sim-")
    directory = Path(workdir or owned or ".")
    directory.mkdir(parents=True, exist_ok=True)
    tls_files = issue_server_tls(directory)[0] if tls else None
    spec = PushLaunchSpec("127.0.0.1", port or _free_port(), tls_files, dict(faults or {}), seed, decrypt)
    spec_file = directory / "webpush-simulator.json"
    spec.write(spec_file)
    log_file = directory / "webpush-simulator.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "pushwise.simulators.webpush.server", str(spec_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    handle = WebPushSimulatorHandle(
        spec.origin, tls_files.ca_file if tls_files else None, decrypt, process, owned
    )
    try:
        _wait_until_ready(handle, process, log_file)
    except BaseException:
        handle.stop()
        raise
    return handle


def _subscription_id(endpoint: str) -> str:
    return endpoint.rsplit("/", 1)[-1]


def _wait_until_ready(
    handle: WebPushSimulatorHandle, process: subprocess.Popen[bytes], log_file: Path
) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    with handle._client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"Web Push simulator exited with {process.returncode}:\n{log_file.read_text()}"
                )
            try:
                if client.get(f"{handle.control_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(
        f"Web Push simulator did not start within {_READY_TIMEOUT_S}s:\n{log_file.read_text()}"
    )
