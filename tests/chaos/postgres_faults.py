"""PostgreSQL under fault while two `pushwise worker` processes send a campaign.

`postgres_restart`: the server itself (a private instance, never the machine's shared one) is
stopped mid-campaign, kept down a while, and started again. `partition`: one worker reaches the
database through a TCP proxy that is cut (bytes held, connections left hanging, as in a real
partition) for longer than a lease, then restored; the other worker keeps its own connections.
Either way every accepted delivery is recorded exactly once (a late acknowledgement from the cut-off
worker must not record a batch another worker has re-claimed), the provider saw every device, and
the extra copies it saw are counted.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg

from pushwise.simulators.apns import start_apns_simulator
from pushwise.store import migrate
from tests.chaos.live_server import LiveServer
from tests.chaos.postgres_instance import postgres_bin, postgres_instance
from tests.chaos.tcp_proxy import tcp_proxy
from tests.integration.pg_databases import fresh_postgres
from tests.integration.pg_workers import (
    accept_everyone,
    assert_exactly_one_outcome_each,
    eventually,
    prepare_send,
    start_worker,
    states,
    stop_workers,
)

BATCH = 100
CONCURRENCY = 4  # the worker default: batches in flight per process
BRISK = {"latency_ms": {"min": 20, "max": 40}}  # so the campaign lasts long enough to be hit
SLUGGISH = {"latency_ms": {"min": 1000, "max": 1500}}  # while the fault strikes


async def delivered(db_url: str) -> int:
    return (await states(db_url)).get("delivered", 0)


async def at_least(db_url: str, count: int) -> bool:
    return await delivered(db_url) >= count


async def delivered_once_up(db_url: str) -> int:
    """The delivered count, read as soon as the server accepts connections again."""
    for _ in range(600):
        try:
            return await delivered(db_url)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await asyncio.sleep(0.1)
    raise AssertionError("PostgreSQL did not come back")


async def has_sessions(db_url: str, pid: int) -> bool:
    connection = await asyncpg.connect(db_url, timeout=10)
    try:
        return bool(
            await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", f"pushwise:{pid}"
            )
        )
    finally:
        await connection.close()


async def start_workers(urls: list[str], watch_url: str) -> list[subprocess.Popen[bytes]]:
    started = [start_worker(url, batch_size=BATCH) for url in urls]
    for worker in started:  # a fault aimed at a worker still importing pushwise tests nothing
        await eventually(partial(has_sessions, watch_url, worker.pid), 90, f"worker {worker.pid} connected")
    return started


async def postgres_restart(workdir: Path, *, devices: int = 2000, down_s: float = 3.0) -> dict[str, Any]:
    bin_dir = postgres_bin()
    assert bin_dir is not None, "PostgreSQL's initdb and pg_ctl are not installed"
    with (
        postgres_instance(bin_dir) as pg,
        start_apns_simulator(tls=True, seed=21, workdir=str(workdir / "apns"), faults=BRISK) as sim,
    ):
        admin = await asyncpg.connect(f"{pg.url}/postgres", timeout=10)
        await admin.execute('CREATE DATABASE "chaos"')
        await admin.close()
        url = f"{pg.url}/chaos"
        await asyncio.to_thread(migrate.upgrade, url)
        send = await prepare_send(url, sim, devices, workdir)
        assert await accept_everyone(url, send.app_id, workdir) == devices
        api = LiveServer(workdir, url, command="api")
        workers: list[subprocess.Popen[bytes]] = []
        try:
            await api.wait_ready()
            workers += await start_workers([url, url], url)
            await eventually(partial(at_least, url, devices // 5), 120, "a fifth delivered")
            await sim.aset_faults(SLUGGISH)  # batches stay in flight, however fast the machine
            before = await delivered(url)
            assert before < devices, "the restart came too late to test anything"
            await asyncio.to_thread(pg.stop, "fast")
            stopped = time.monotonic()
            answer = await api.list_apps()
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "database_unavailable", answer.text
            await asyncio.sleep(down_s)
            await asyncio.to_thread(pg.start)
            restarted = time.monotonic()
            back_at = await delivered_once_up(url)
            await sim.aset_faults(BRISK)
            await eventually(partial(at_least, url, back_at + 1), 120, "delivery resumed")
            resumed_s = time.monotonic() - restarted
            await eventually(partial(at_least, url, devices), 300, "every delivery recorded")
            assert all(worker.poll() is None for worker in workers), "a worker died of the restart"
            assert (await api.list_apps()).status_code == 200, "the API did not come back"
        finally:
            await api.stop()
            stop_workers(workers)
        extra = await assert_exactly_one_outcome_each(
            url, send, max_duplicates=2 * BATCH * CONCURRENCY, simulator=sim
        )
    return {
        "devices": devices,
        "delivered_before_the_stop": before,
        "down_s": round(restarted - stopped, 1),
        "s_to_resume_after_restart": round(resumed_s, 1),
        "api_answer_while_down": f"{answer.status_code} {answer.json()['error']['code']}",
        "lost": 0,
        "recorded_twice": 0,
        "provider_extra_copies": extra,
    }


async def leased(db_url: str) -> dict[str, int]:
    """Deliveries being sent, per lease owner (a worker process)."""
    connection = await asyncpg.connect(db_url, timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT lease_owner, count(*) AS n FROM deliveries WHERE state = 'sending' GROUP BY lease_owner"
        )
        return {row["lease_owner"]: row["n"] for row in rows}
    finally:
        await connection.close()


async def partition(
    workdir: Path,
    server_url: str,
    *,
    devices: int = 2000,
    partition_s: float = 10.0,
    reset: bool = False,
    resume_timeout_s: float = 300.0,
) -> dict[str, Any]:
    """`reset`: the cut also closes the victim's connections (a middlebox that forgot them),
    instead of leaving them hanging.

    The victim works alone through the proxy until a fifth is delivered; it is cut off with
    batches in flight; a second worker, on a direct connection, starts then and re-claims them when
    their leases run out; the partition heals and the victim's late acknowledgements arrive. Then
    the other worker stops and the victim alone must send a second campaign: it recovered."""
    host, port = server_url.rsplit("@", 1)[1].rsplit(":", 1)
    async with (
        fresh_postgres(server_url, "pw_chaos_partition") as url,
        tcp_proxy(host, int(port)) as proxy,
    ):
        with start_apns_simulator(tls=True, seed=22, workdir=str(workdir / "apns"), faults=BRISK) as sim:
            send = await prepare_send(url, sim, devices, workdir)
            assert await accept_everyone(url, send.app_id, workdir) == devices
            through_proxy = url.replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")
            workers = await start_workers([through_proxy], url)
            victim = workers[0]
            try:
                await eventually(partial(at_least, url, devices // 5), 120, "a fifth delivered")
                await eventually(partial(_sending, url), 60, "a batch in flight")
                proxy.cut()
                if reset:
                    proxy.reset()
                cut_at = await delivered(url)
                in_flight = sum((await leased(url)).values())  # all the victim's: it worked alone
                assert cut_at < devices, "the partition came too late to test anything"
                workers += await start_workers([url], url)
                await asyncio.sleep(partition_s)
                during = await delivered(url) - cut_at
                proxy.restore()
                await eventually(partial(at_least, url, devices), 300, "every delivery recorded")
                assert victim.poll() is None, "the partitioned worker died instead of riding it out"
                extra = await assert_exactly_one_outcome_each(
                    url, send, max_duplicates=2 * BATCH * CONCURRENCY, simulator=sim
                )
                resumed_s = await _works_alone(url, send.app_id, workdir, workers, resume_timeout_s)
            finally:
                await asyncio.to_thread(stop_workers, workers)  # the proxy runs on this loop
            assert victim.returncode == 0, f"the partitioned worker exited with {victim.returncode}"
    return {
        "devices": devices,
        "partition_s": partition_s,
        "delivered_when_cut": cut_at,
        "in_flight_on_the_cut_worker": in_flight,
        "delivered_by_the_other_worker_during_cut": during,
        "lost": 0,
        "recorded_twice": 0,
        "provider_extra_copies": extra,
        "s_for_the_cut_worker_alone_to_send_a_second_campaign": round(resumed_s, 1),
    }


async def _works_alone(
    url: str, app_id: str, workdir: Path, workers: list[subprocess.Popen[bytes]], timeout_s: float
) -> float:
    """Seconds the partitioned worker (the first), left alone, takes to send a second campaign."""
    await asyncio.to_thread(stop_workers, workers[1:])  # the proxy runs on this loop
    began = time.monotonic()
    recipients = await accept_everyone(url, app_id, workdir)
    await eventually(partial(at_least, url, 2 * recipients), timeout_s, "the cut-off worker sending again")
    return time.monotonic() - began


async def _sending(db_url: str) -> bool:
    return bool(await leased(db_url))
