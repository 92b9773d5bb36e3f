"""Several `pushwise worker` processes share one PostgreSQL and one large send.

Under normal operation every delivery happens exactly once at the provider. Idle
workers learn of new work through LISTEN/NOTIFY (the send is accepted by another
process after they started); leader election hands a job to one process at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pushwise.bootstrap import build_services
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store.db import open_database
from pushwise.store.leader import Leadership
from pushwise.store.wakeups import WakeupListener, announce_work
from tests.integration.pg_databases import fresh_postgres
from tests.integration.pg_workers import (
    SECRET,
    accept_everyone,
    assert_exactly_one_outcome_each,
    eventually,
    prepare_send,
    start_worker,
    states,
    stop_workers,
)

pytestmark = pytest.mark.integration

DEVICES = 3000


@pytest.fixture
async def pg_url(postgres_server: str) -> AsyncIterator[str]:
    async with fresh_postgres(postgres_server, "pw_workers") as url:
        yield url


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(tls=True, seed=5, workdir=str(tmp_path / "sim"), engine="granian") as sim:
        yield sim


async def test_three_workers_share_one_send_and_deliver_each_exactly_once(
    pg_url: str, simulator: ApnsSimulatorHandle, tmp_path: Path
) -> None:
    send = await prepare_send(pg_url, simulator, DEVICES, tmp_path)
    # A long poll interval: idle workers start on the NOTIFY, the poll is only the safety net.
    workers = [start_worker(pg_url, poll_seconds=2.0) for _ in range(3)]
    try:
        await asyncio.sleep(2.0)  # let them start, find nothing, and go idle
        assert await accept_everyone(pg_url, send.app_id, tmp_path) == DEVICES

        async def all_delivered() -> bool:
            return (await states(pg_url)).get("delivered", 0) == DEVICES

        await eventually(all_delivered, 120, "every delivery recorded")
    finally:
        stop_workers(workers)
    assert all(worker.returncode == 0 for worker in workers)  # SIGTERM drained cleanly
    duplicates = await assert_exactly_one_outcome_each(pg_url, send, max_duplicates=0, simulator=simulator)
    assert duplicates == 0


async def test_an_accept_in_another_process_wakes_the_listener(pg_url: str) -> None:
    db = open_database(pg_url, pool_size=1)
    listener = WakeupListener(db)
    woken = asyncio.Event()
    listener.subscribe(woken.set)
    await listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        woken.clear()  # the listener wakes everyone once on (re)connect
        await db.transact(announce_work)
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        await listener.stop()
        await db.dispose()


async def test_one_leader_per_job_and_takeover_when_it_goes(pg_url: str) -> None:
    first_db, second_db = open_database(pg_url, pool_size=1), open_database(pg_url, pool_size=1)
    first, second = Leadership(first_db), Leadership(second_db)
    try:
        assert await first.acquire("rollups")
        assert await first.acquire("rollups")  # re-confirming is cheap and stays true
        assert not await second.acquire("rollups")
        assert await second.acquire("scheduler")  # jobs are elected independently
        assert (first.is_leader("rollups"), second.is_leader("rollups")) == (True, False)
        await first.close()  # process shuts down (or dies): the lock goes with its session
        assert await second.acquire("rollups")
        async with first.hold("rollups") as leading:
            assert not leading
        await second.release("rollups")
        async with first.hold("rollups") as leading:
            assert leading
            assert first.is_leader("rollups")
        assert not first.is_leader("rollups")
    finally:
        await first.close()
        await second.close()
        await first_db.dispose()
        await second_db.dispose()


async def test_a_stuck_batch_is_given_back_when_the_drain_deadline_passes(
    pg_url: str, tmp_path: Path
) -> None:
    slow = {"latency_ms": {"min": 20_000, "max": 20_000}}  # a provider that does not answer in time
    with start_apns_simulator(
        tls=True, seed=6, workdir=str(tmp_path / "slow"), engine="h2", faults=slow
    ) as sim:
        send = await prepare_send(pg_url, sim, 20, tmp_path)
        await accept_everyone(pg_url, send.app_id, tmp_path)
        services = build_services(
            Settings(
                database_url=pg_url, secret_key=SECRET, secret_key_file=str(tmp_path / "key"), db_pool_size=2
            )
        )
        worker = services.engine.worker()
        running = asyncio.create_task(worker.run())
        try:

            async def all_sending() -> bool:
                return await states(pg_url) == {"sending": 20}

            await eventually(all_sending, 30, "the batch claimed")
            await worker.stop(drain_seconds=0.5)
            assert await states(pg_url) == {"queued": 20}  # released: due now, not after the lease
        finally:
            await worker.stop()
            await running
            await services.close()
