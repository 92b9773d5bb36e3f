"""Start a simulated APNs in its own process and talk to its control API.

with start_apns_simulator(faults={"reasons": {"ServiceUnavailable": 0.05}}) as sim:
    ...configure pushwise with sim.endpoint, sim.ca_file, sim.team_id, sim.key_id, sim.private_key_pem...
    assert sim.token_counts()[token]["delivered"] == 1
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
from dataclasses import dataclass, field, replace
from typing import Any

from pushwise.simulators.apns.provisioning import provision
from pushwise.simulators.handle import SimulatorControlError, TokenCounting, free_port, spawn, work_directory

__all__ = ["ApnsSimulatorHandle", "SimulatorControlError", "astart_apns_simulator", "start_apns_simulator"]


@dataclass(frozen=True)
class ApnsSimulatorHandle(TokenCounting):
    """stats(): total, delivered, dropped, by_status, by_reason, tokens, connection_events, outage."""

    LABEL = "APNs simulator"

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

    def control_client_options(self) -> dict[str, Any]:
        """httpx client options that reach the control API (HTTP/2: the `h2` engine speaks nothing else)."""
        options: dict[str, Any] = {
            "http2": True,
            "http1": self.ca_file is not None,
            "timeout": self.CONTROL_TIMEOUT_S,
        }
        if self.ca_file:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.client_cert_file and self.client_key_file:
                context.load_cert_chain(self.client_cert_file, self.client_key_file)
            options["verify"] = context
        return options


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
    directory, owned = work_directory(workdir, "pushwise-apns-sim-")
    try:
        made = provision(
            directory,
            port=port or free_port(),
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
    log_file = directory / "simulator.log"
    process = spawn("pushwise.simulators.apns.server", spec_file, log_file)
    identity = made.client_identity
    return ApnsSimulatorHandle(
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
    ).wait_until_ready(log_file)


async def astart_apns_simulator(**options: Any) -> ApnsSimulatorHandle:
    """`start_apns_simulator` without blocking the caller's event loop."""
    return await asyncio.to_thread(start_apns_simulator, **options)
