"""Start a simulated Web Push service in its own process and talk to its control API.

    with start_webpush_simulator(faults={"statuses": {"503": 0.05}}) as sim:
        subscription = sim.new_subscription()  # like PushSubscription.toJSON()
        ...send to it with pushwise...
        assert sim.received(subscription["endpoint"])[0]["payload"]["title"] == "Hi"

The service runs in a subprocess so it never competes with the code under test
for the event loop, and a benchmark's peer gets its own core.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Any

from pushwise.simulators.apns.certs import issue_server_tls
from pushwise.simulators.handle import OutageControl, free_port, spawn, work_directory
from pushwise.simulators.webpush.faults import parse_faults
from pushwise.simulators.webpush.server import PushLaunchSpec
from pushwise.simulators.webpush.subscriptions import PUSH_PREFIX


@dataclass(frozen=True)
class WebPushSimulatorHandle(OutageControl):
    """stats(): total, delivered, undecryptable, by_status, subscriptions, outage."""

    LABEL = "Web Push simulator"
    CONTROL_TIMEOUT_S = 120.0  # creating 100k subscriptions generates 100k key pairs

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
    directory, owned = work_directory(workdir, "pushwise-webpush-sim-")
    directory.mkdir(parents=True, exist_ok=True)
    tls_files = issue_server_tls(directory)[0] if tls else None
    spec = PushLaunchSpec("127.0.0.1", port or free_port(), tls_files, dict(faults or {}), seed, decrypt)
    spec_file = directory / "webpush-simulator.json"
    spec.write(spec_file)
    log_file = directory / "webpush-simulator.log"
    process = spawn("pushwise.simulators.webpush.server", spec_file, log_file)
    return WebPushSimulatorHandle(
        spec.origin, tls_files.ca_file if tls_files else None, decrypt, process, owned
    ).wait_until_ready(log_file)


def _subscription_id(endpoint: str) -> str:
    return endpoint.rsplit("/", 1)[-1]
