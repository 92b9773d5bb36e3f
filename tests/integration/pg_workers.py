"""Shared set-up for multi-process tests on PostgreSQL: an app wired to the APNs
simulator, a large audience, `pushwise worker` subprocesses, and state queries.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from tests.integration.apns_app import app_sending_to

SECRET = "pg-workers-test-secret-0123456789abcdef"
FINAL_STATES = ("delivered", "failed", "expired", "cancelled", "suppressed", "fallback")


@dataclass(frozen=True)
class Send:
    app_id: str
    tokens: list[str]


async def prepare_send(db_url: str, simulator: ApnsSimulatorHandle, devices: int, tmp_path: Path) -> Send:
    """An app with APNs credentials for `simulator` and `devices` registered iPhones (nothing sent yet)."""
    services = build_services(
        Settings(
            database_url=db_url, secret_key=SECRET, secret_key_file=str(tmp_path / "key"), db_pool_size=2
        ),
        rng=random.Random(7),
    )
    try:
        app_id = await app_sending_to(services, simulator, "scale")
        tokens = [f"{n:064x}" for n in range(devices)]
        await DeviceRepository(services.db, services.clock).register_many(
            app_id, [DeviceRegistration("ios", token) for token in tokens]
        )
        return Send(app_id, tokens)
    finally:
        await services.close()


async def accept_everyone(db_url: str, app_id: str, tmp_path: Path) -> int:
    """Accept one notification to the whole audience, from this process (an API process's job)."""
    services = build_services(
        Settings(
            database_url=db_url, secret_key=SECRET, secret_key_file=str(tmp_path / "key"), db_pool_size=2
        )
    )
    try:
        accepted = await services.engine.accept(
            app_id,
            AcceptRequest(
                NotificationSpec(Content(title="Flash sale", body="Today only")), Target(everyone=True)
            ),
        )
        return accepted.recipients
    finally:
        await services.close()


def start_worker(
    db_url: str, *, batch_size: int = 100, lease_seconds: float = 3.0, poll_seconds: float = 0.05
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUSHWISE_DATABASE_URL": db_url,
        "PUSHWISE_SECRET_KEY": SECRET,
        "PUSHWISE_ALLOW_PRIVATE_ENDPOINTS": "true",
        "PUSHWISE_WORKER_LEASE_SECONDS": str(lease_seconds),
        "PUSHWISE_WORKER_BATCH_SIZE": str(batch_size),
        "PUSHWISE_WORKER_POLL_SECONDS": str(poll_seconds),
        "PUSHWISE_DB_POOL_SIZE": "4",
        "PUSHWISE_LOG_LEVEL": "error",
    }
    return subprocess.Popen([sys.executable, "-m", "pushwise", "worker"], env=env)


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM (graceful drain), then SIGKILL whatever does not exit."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


async def states(db_url: str) -> dict[str, int]:
    connection = await asyncpg.connect(db_url, timeout=10)
    try:
        rows = await connection.fetch("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        return {row["state"]: row["n"] for row in rows}
    finally:
        await connection.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await check():
                return
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass  # the server may be restarting
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def assert_exactly_one_outcome_each(
    db_url: str, send: Send, *, max_duplicates: int, simulator: ApnsSimulatorHandle
) -> int:
    """Every accepted delivery is final once; the provider saw each token once, some at most twice."""
    assert await states(db_url) == {"delivered": len(send.tokens)}
    connection = await asyncpg.connect(db_url, timeout=10)
    try:
        per_device = await connection.fetch(
            "SELECT device_id, count(*) AS n FROM deliveries WHERE state = 'delivered' GROUP BY device_id"
        )
    finally:
        await connection.close()
    assert len(per_device) == len(send.tokens)
    assert all(row["n"] == 1 for row in per_device)
    seen = simulator.token_counts()
    received = [seen.get(token, {}).get("received", 0) for token in send.tokens]
    assert min(received) >= 1
    assert max(received) <= 2
    duplicates = sum(1 for count in received if count == 2)
    assert duplicates <= max_duplicates
    return duplicates
