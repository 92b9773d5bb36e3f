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
import subprocess
from dataclasses import dataclass, field
from typing import Any

from pushwise.simulators.fcm.provisioning import provision_fcm
from pushwise.simulators.handle import TokenCounting, free_port, spawn, work_directory


@dataclass(frozen=True)
class FcmSimulatorHandle(TokenCounting):
    """stats(): total, delivered, by_status, by_reason (FCM error codes), tokens, outage, oauth."""

    LABEL = "FCM simulator"

    endpoint: str  # "https://127.0.0.1:PORT" (TLS) or "http://127.0.0.1:PORT" (h2c)
    token_uri: str  # the OAuth2 token endpoint; also the service account's own `token_uri`
    ca_file: str | None  # path of the CA PEM to trust (TLS mode)
    service_account: dict[str, Any] = field(repr=False)  # a Google service-account key file's JSON
    service_account_file: str  # the same JSON, written into the work directory
    project_id: str
    control_url: str  # base URL of the control API
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
    _owned_workdir: str | None = field(default=None, repr=False, compare=False)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far answers 401 UNAUTHENTICATED from now on."""
        self._call("POST", "expire-access-tokens")


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
    directory, owned = work_directory(workdir, "pushwise-fcm-sim-")
    try:
        made = provision_fcm(
            directory, port=port or free_port(), tls=tls, project_id=project_id, faults=faults, seed=seed
        )
    except Exception:
        if owned:
            shutil.rmtree(owned, ignore_errors=True)
        raise
    spec_file = directory / "simulator.json"
    made.spec.write(spec_file)
    log_file = directory / "simulator.log"
    process = spawn("pushwise.simulators.fcm.server", spec_file, log_file)
    return FcmSimulatorHandle(
        endpoint=made.spec.endpoint,
        token_uri=made.spec.token_uri,
        ca_file=made.spec.tls.ca_file if made.spec.tls else None,
        service_account=made.service_account,
        service_account_file=made.service_account_file,
        project_id=project_id,
        control_url=f"{made.spec.endpoint}/_sim",
        _process=process,
        _owned_workdir=owned,
    ).wait_until_ready(log_file)


async def astart_fcm_simulator(**options: Any) -> FcmSimulatorHandle:
    """`start_fcm_simulator` without blocking the caller's event loop."""
    return await asyncio.to_thread(start_fcm_simulator, **options)
