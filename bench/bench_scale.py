"""Scale-out benchmark: deliveries/s with 1, 2 and 4 worker processes on PostgreSQL,
beside one worker on SQLite, and throughput against the claim batch size.

Every run, in one invocation against one APNs simulator (granian engine, its own
process): start K `pushwise worker` processes, let them go idle, accept one
notification to N devices from this process, and time until every delivery has
an outcome. On PostgreSQL the transactions per delivery come from
`pg_stat_database` (claims, records, heartbeats, spec loads: the database
round-trips of the hot path). Duplicates are what the simulator received beyond N.

    python bench/bench_scale.py --devices 30000
    python bench/bench_scale.py --devices 20000 --workers 2 --batch-sizes "" --no-sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator
from pushwise.store import migrate
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from pushwise.store.schema import deliveries
from pushwise.store.sealing import Sealer

SECRET = "bench-scale-secret-0123456789abcdef"
PENDING = ("queued", "sending", "retrying")


@dataclass(frozen=True)
class Run:
    engine: str
    workers: int
    batch: int
    deliveries: int
    seconds: float
    accept_seconds: float
    transactions_per_delivery: float | None
    duplicates: int

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds


class Install:
    """One database with an app wired to the simulator and N devices; each run sends to all of them."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.settings = Settings(
            database_url=url, secret_key=SECRET, secret_key_file=str(workdir / "key"), db_pool_size=4
        )
        self.app_id = ""

    async def prepare(self, sim: ApnsSimulatorHandle, devices: int) -> None:
        await asyncio.to_thread(migrate.upgrade, self.url)
        services = build_services(self.settings, rng=random.Random(1))
        try:
            self.app_id = (await AppRepository(services.db, services.clock).create_with_keys("bench")).app.id
            await CredentialRepository(services.db, services.clock, Sealer(services.secret_key)).put(
                self.app_id,
                "apns",
                {
                    "team_id": sim.team_id,
                    "key_id": sim.key_id,
                    "topic": sim.topic,
                    "environment": "development",
                    "endpoint": sim.endpoint,
                    "ca_file": sim.ca_file,
                },
                {"private_key": sim.private_key_pem},
            )
            repository = DeviceRepository(services.db, services.clock)
            for start in range(0, devices, 5000):
                chunk = range(start, min(devices, start + 5000))
                await repository.register_many(
                    self.app_id, [DeviceRegistration("ios", f"{n:064x}") for n in chunk]
                )
        finally:
            await services.engine.close()
            await services.db.dispose()

    async def accept(self) -> int:
        services = build_services(self.settings)
        try:
            spec = NotificationSpec(Content(title="Bench", body="hello"))
            return (
                await services.engine.accept(self.app_id, AcceptRequest(spec, Target(everyone=True)))
            ).recipients
        finally:
            await services.engine.close()
            await services.db.dispose()

    async def pending(self) -> int:
        services = build_services(self.settings)
        try:
            async with services.db.read.connect() as conn:
                query = select(func.count()).where(deliveries.c.state.in_(PENDING))
                return int((await conn.execute(query)).scalar() or 0)
        finally:
            await services.db.dispose()


def start_workers(install: Install, count: int, batch: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "PUSHWISE_DATABASE_URL": install.url,
        "PUSHWISE_SECRET_KEY": SECRET,
        "PUSHWISE_ALLOW_PRIVATE_ENDPOINTS": "true",
        "PUSHWISE_WORKER_BATCH_SIZE": str(batch),
        "PUSHWISE_WORKER_POLL_SECONDS": "0.05" if install.url.startswith("sqlite") else "1.0",
        "PUSHWISE_LOG_LEVEL": "error",
    }
    return [subprocess.Popen([sys.executable, "-m", "pushwise", "worker"], env=env) for _ in range(count)]


async def workers_ready(install: Install, processes: list[subprocess.Popen[bytes]]) -> None:
    """Wait until every worker listens for wake-ups (PostgreSQL), so start-up is not timed."""
    if install.url.startswith("sqlite"):
        await asyncio.sleep(5.0)
        return
    names = [f"pushwise:{process.pid}:wakeups" for process in processes]
    connection = await asyncpg.connect(install.url)
    try:
        for _ in range(600):
            query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = any($1::text[])"
            if await connection.fetchval(query, names) == len(names):
                await asyncio.sleep(0.5)  # their first, empty claims
                return
            await asyncio.sleep(0.1)
    finally:
        await connection.close()
    raise RuntimeError("workers did not start")


async def transactions(install: Install) -> int | None:
    if install.url.startswith("sqlite"):
        return None
    await asyncio.sleep(1.2)  # statistics reach pg_stat_database when a backend goes idle
    connection = await asyncpg.connect(install.url)
    try:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        value = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(value)
    finally:
        await connection.close()


async def measure(install: Install, sim: ApnsSimulatorHandle, workers: int, batch: int) -> Run:
    processes = start_workers(install, workers, batch)
    try:
        await workers_ready(install, processes)
        sim.reset()
        before = await transactions(install)
        began = time.perf_counter()
        accepted = await install.accept()
        accept_seconds = time.perf_counter() - began
        while True:
            if not await install.pending():
                break
            await asyncio.sleep(0.1)
        seconds = time.perf_counter() - began
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    after = await transactions(install)
    per_delivery = (after - before) / accepted if before is not None and after is not None else None
    received = sum(counts.get("received", 0) for counts in sim.token_counts().values())
    engine = "sqlite" if install.url.startswith("sqlite") else "postgresql"
    return Run(engine, workers, batch, accepted, seconds, accept_seconds, per_delivery, received - accepted)


def print_table(runs: list[Run]) -> None:
    print(
        f"{'engine':<11}{'workers':>8}{'batch':>7}{'deliveries':>11}{'seconds':>9}{'deliv/s':>9}"
        f"{'accept s':>9}{'xact/deliv':>11}{'dups':>6}"
    )
    for run in runs:
        xact = f"{run.transactions_per_delivery:.4f}" if run.transactions_per_delivery is not None else "-"
        print(
            f"{run.engine:<11}{run.workers:>8}{run.batch:>7}{run.deliveries:>11}{run.seconds:>9.2f}"
            f"{run.rate:>9.0f}{run.accept_seconds:>9.2f}{xact:>11}{run.duplicates:>6}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=30_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--batch", type=int, default=500, help="batch size of the worker-count runs")
    parser.add_argument("--batch-sizes", default="50,200,1000", help="extra batch sizes, 2 workers")
    parser.add_argument("--workers", default="1,2,4", help="worker counts of the PostgreSQL runs")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    args = parser.parse_args()

    name = f"pw_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{args.postgres}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    runs: list[Run] = []
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            start_apns_simulator(tls=True, seed=1, workdir=f"{tmp}/sim", engine="granian") as sim,
        ):
            workdir = Path(tmp)
            sqlite = Install(f"sqlite:///{workdir / 'bench.db'}", workdir)
            postgres = Install(f"{args.postgres}/{name}", workdir)
            installs = (postgres,) if args.no_sqlite else (sqlite, postgres)
            for install in installs:
                await install.prepare(sim, args.devices)
            if not args.no_sqlite:
                runs.append(await measure(sqlite, sim, 1, args.batch))
            for workers in (int(count) for count in args.workers.split(",") if count):
                runs.append(await measure(postgres, sim, workers, args.batch))
            for batch in (int(size) for size in args.batch_sizes.split(",") if size):
                runs.append(await measure(postgres, sim, 2, batch))
    finally:
        await admin.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()
    print_table(runs)


if __name__ == "__main__":
    asyncio.run(main())
