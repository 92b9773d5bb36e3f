"""A worker process killed with SIGKILL in the middle of a large send loses nothing.

After a restart every device has exactly one successful delivery recorded, and the
simulator saw each device at least once and at most twice (the batch in flight at
the moment of the kill is sent again once its lease runs out).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store import migrate
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from tests.integration.apns_app import app_sending_to

pytestmark = pytest.mark.integration

DEVICES = 4000
SECRET = "crash-test-secret-key-0123456789abcdef"


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[ApnsSimulatorHandle]:
    # A little latency per request so the send takes long enough to be interrupted.
    with start_apns_simulator(
        tls=True, seed=3, workdir=str(tmp_path), faults={"latency_ms": {"min": 20, "max": 40}}
    ) as sim:
        yield sim


def start_worker(db_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUSHWISE_DATABASE_URL": db_url,
        "PUSHWISE_SECRET_KEY": SECRET,
        "PUSHWISE_ALLOW_PRIVATE_ENDPOINTS": "true",
        "PUSHWISE_WORKER_LEASE_SECONDS": "3",
        "PUSHWISE_WORKER_BATCH_SIZE": "100",
        "PUSHWISE_WORKER_POLL_SECONDS": "0.05",
        "PUSHWISE_LOG_LEVEL": "warning",
    }
    return subprocess.Popen([sys.executable, "-m", "pushwise", "worker"], env=env)


def states(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())


async def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_sigkill_mid_send_loses_nothing_and_bounds_duplicates(
    tmp_path: Path, simulator: ApnsSimulatorHandle
) -> None:
    db_path = tmp_path / "crash.db"
    db_url = f"sqlite:///{db_path}"
    await asyncio.to_thread(migrate.upgrade, db_url)
    services = build_services(Settings(database_url=db_url, secret_key=SECRET, allow_private_endpoints=True))
    app_id = await app_sending_to(services, simulator, "crash")
    tokens = [f"{n:064x}" for n in range(DEVICES)]
    await DeviceRepository(services.db, services.clock).register_many(
        app_id, [DeviceRegistration("ios", token) for token in tokens]
    )
    accepted = await services.engine.accept(
        app_id,
        AcceptRequest(
            NotificationSpec(Content(title="Flash sale", body="Today only")), Target(everyone=True)
        ),
    )
    assert accepted.recipients == DEVICES
    await services.close()

    worker = start_worker(db_url)
    try:
        await wait_for(lambda: states(db_path).get("delivered", 0) >= DEVICES // 5, 60, "a fifth delivered")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    at_kill = states(db_path)
    assert at_kill.get("delivered", 0) < DEVICES, "the kill came too late to test anything"

    worker = start_worker(db_url)
    try:
        await wait_for(lambda: states(db_path).get("delivered", 0) == DEVICES, 120, "every device delivered")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)

    assert states(db_path) == {"delivered": DEVICES}
    with sqlite3.connect(db_path) as db:
        per_device = db.execute(
            "SELECT device_id, count(*) FROM deliveries WHERE state = 'delivered' GROUP BY device_id"
        ).fetchall()
    assert len(per_device) == DEVICES
    assert all(count == 1 for _, count in per_device)
    seen = simulator.token_counts()
    received = [seen.get(token, {}).get("received", 0) for token in tokens]
    assert min(received) >= 1
    assert max(received) <= 2
    duplicates = sum(1 for count in received if count == 2)
    assert duplicates <= 4 * 100  # at most the batches in flight when the worker died
