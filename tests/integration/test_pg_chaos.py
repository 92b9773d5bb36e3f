"""Chaos on PostgreSQL: workers killed, their sessions cut, the server restarted mid-send.

Afterwards every accepted delivery has exactly one final outcome, and the
provider saw each device at least once and at most twice, duplicates being
bounded by the batches in flight at the moment of the fault.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import asyncpg
import pytest

from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from tests.conftest import require_all
from tests.integration.pg_databases import fresh_postgres
from tests.integration.pg_workers import (
    Send,
    accept_everyone,
    assert_exactly_one_outcome_each,
    eventually,
    prepare_send,
    start_worker,
    states,
    stop_workers,
)

pytestmark = pytest.mark.integration

DEVICES = 4000
BATCH = 100
CONCURRENCY = 4  # the worker default: batches in flight per process
# A little latency per request so the send takes long enough to be interrupted; a
# sluggish provider holds the rest back while a fault strikes, however fast the machine.
BRISK = {"latency_ms": {"min": 20, "max": 40}}
SLUGGISH = {"latency_ms": {"min": 1000, "max": 1500}}


@pytest.fixture
async def pg_url(postgres_server: str) -> AsyncIterator[str]:
    async with fresh_postgres(postgres_server, "pw_chaos") as url:
        yield url


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(tls=True, seed=3, workdir=str(tmp_path / "sim"), faults=BRISK) as sim:
        yield sim


async def started_send(
    pg_url: str, simulator: ApnsSimulatorHandle, tmp_path: Path, workers: int
) -> tuple[Send, list[subprocess.Popen[bytes]]]:
    send = await prepare_send(pg_url, simulator, DEVICES, tmp_path)
    assert await accept_everyone(pg_url, send.app_id, tmp_path) == DEVICES
    started = [start_worker(pg_url, batch_size=BATCH) for _ in range(workers)]
    # On a loaded machine one worker can deliver a fifth before the other has even
    # imported pushwise; a fault aimed at a worker that is not yet working tests nothing.
    for worker in started:
        await eventually(partial(has_sessions, pg_url, worker.pid), 60, f"worker {worker.pid} connected")
    return send, started


async def has_sessions(pg_url: str, pid: int) -> bool:
    connection = await asyncpg.connect(pg_url, timeout=10)
    try:
        sessions = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", f"pushwise:{pid}"
        )
        return bool(sessions)
    finally:
        await connection.close()


async def delivered_at_least(pg_url: str, count: int) -> bool:
    return (await states(pg_url)).get("delivered", 0) >= count


async def test_sigkill_of_one_worker_mid_send(
    pg_url: str, simulator: ApnsSimulatorHandle, tmp_path: Path
) -> None:
    send, workers = await started_send(pg_url, simulator, tmp_path, workers=2)
    try:
        await eventually(lambda: delivered_at_least(pg_url, DEVICES // 5), 60, "a fifth delivered")
        await simulator.aset_faults(SLUGGISH)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        assert not await delivered_at_least(pg_url, DEVICES), "the kill came too late to test anything"
        await simulator.aset_faults(BRISK)
        await eventually(lambda: delivered_at_least(pg_url, DEVICES), 120, "every delivery recorded")
    finally:
        stop_workers(workers)
    await assert_exactly_one_outcome_each(
        pg_url, send, max_duplicates=BATCH * CONCURRENCY, simulator=simulator
    )


async def test_a_worker_whose_database_sessions_are_cut_recovers(
    pg_url: str, simulator: ApnsSimulatorHandle, tmp_path: Path
) -> None:
    send, workers = await started_send(pg_url, simulator, tmp_path, workers=2)
    victim = workers[0]
    try:
        await eventually(lambda: delivered_at_least(pg_url, DEVICES // 5), 60, "a fifth delivered")
        connection = await asyncpg.connect(pg_url, timeout=10)
        try:
            cut = await connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name LIKE $1",
                f"pushwise:{victim.pid}%",
            )
        finally:
            await connection.close()
        assert cut >= 1
        await eventually(lambda: delivered_at_least(pg_url, DEVICES), 120, "every delivery recorded")
        assert victim.poll() is None  # it rode out the cut instead of dying
    finally:
        stop_workers(workers)
    assert victim.returncode == 0
    await assert_exactly_one_outcome_each(
        pg_url, send, max_duplicates=BATCH * CONCURRENCY, simulator=simulator
    )


def _cluster() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    return [versions[-1], "main"] if versions else []


def _ensure_postgres_running() -> None:
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode != 0:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *_cluster(), "start"], check=True)


@pytest.mark.skipif(
    not (require_all() or os.environ.get("PUSHWISE_TEST_PG_RESTART")),
    reason="restarts the shared PostgreSQL server: runs in CI or with PUSHWISE_TEST_PG_RESTART=1",
)
async def test_postgres_restart_mid_send(pg_url: str, simulator: ApnsSimulatorHandle, tmp_path: Path) -> None:
    if not (shutil.which("pg_ctlcluster") and _cluster()):
        pytest.fail("pg_ctlcluster and a cluster in /etc/postgresql are needed to restart PostgreSQL")
    send, workers = await started_send(pg_url, simulator, tmp_path, workers=2)
    try:
        await eventually(lambda: delivered_at_least(pg_url, DEVICES // 5), 60, "a fifth delivered")
        restart = ["pg_ctlcluster", "--skip-systemctl-redirect", *_cluster(), "restart", "-m", "fast"]
        await asyncio.to_thread(subprocess.run, restart, check=True, timeout=60)
        await eventually(lambda: delivered_at_least(pg_url, DEVICES), 180, "every delivery recorded")
        assert all(worker.poll() is None for worker in workers)
    finally:
        _ensure_postgres_running()
        stop_workers(workers)
    await assert_exactly_one_outcome_each(
        pg_url, send, max_duplicates=2 * BATCH * CONCURRENCY, simulator=simulator
    )
