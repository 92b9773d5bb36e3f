"""Latency of `POST /v1/notifications` for one device under open-loop load (issue target: p99 < 20 ms).

A real `pushwise serve` subprocess on a fresh SQLite file, its workers delivering
every accepted notification to the APNs simulator (granian engine) in the same run,
so the accepts compete with the deliveries they cause. `BENCH_MODE=split` runs
`pushwise api` and one `pushwise worker` process on the same file instead, and
`BENCH_MODE=api` the API alone (nothing delivered).
The load generator is a Rust HTTP client (pyreqwest) sending one request every
1/rate seconds whatever the answers do (open loop: no coordinated omission).
Each round is a fresh server; the figure is the median of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx

sys.path.insert(0, str(Path(__file__).parent))

from bench_apns import PushwiseServer, cpu_seconds, single_device_latency

from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator


async def fresh_postgres(admin_url: str, name: str) -> str:
    """A new, migrated PostgreSQL database for one round; returns its URL."""
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    environment = {**os.environ, "PUSHWISE_DATABASE_URL": url}
    upgrade = [sys.executable, "-m", "pushwise", "db", "upgrade"]
    await asyncio.to_thread(subprocess.run, upgrade, env=environment, check=True)
    return url


async def one_round(
    sim: ApnsSimulatorHandle, workdir: str, port: int, rate: int, seconds: int, database_url: str | None
) -> tuple[float, float, float]:
    server = PushwiseServer(workdir, port, {"PUSHWISE_DATABASE_URL": database_url} if database_url else None)
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            await server.wait_ready(client)
            _app_id, headers = await server.apns_app(client, sim)
            # One second of warm-up (connections, caches), then the measured run.
            await single_device_latency(client, server.base, headers, f"{1:064x}", rate=rate, seconds=1)
            cpu_before = sum(cpu_seconds(process.pid) for process in server.processes)
            p50, p99 = await single_device_latency(
                client, server.base, headers, f"{0:064x}", rate=rate, seconds=seconds
            )
            await asyncio.sleep(1)  # let the workers deliver what was accepted last
            cpu_after = sum(cpu_seconds(process.pid) for process in server.processes)
            cpu_ms = (cpu_after - cpu_before) * 1000 / (rate * seconds)
            return p50, p99, cpu_ms
    finally:
        server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on PostgreSQL instead of SQLite: a server URL whose user may create databases, "
        "e.g. postgresql://postgres@127.0.0.1/postgres (a fresh database per round)",
    )
    args = parser.parse_args()
    results = []
    for round_number in range(args.rounds):
        workdir = tempfile.mkdtemp(prefix="pushwise-latency-")
        sim = start_apns_simulator(tls=True, seed=1, workdir=workdir, engine="granian")
        try:
            database_url = (
                await fresh_postgres(args.postgres, f"pushwise_latency_{round_number}")
                if args.postgres
                else None
            )
            p50, p99, cpu_ms = await one_round(sim, workdir, args.port, args.rate, args.seconds, database_url)
        finally:
            sim.stop()
        results.append((p50, p99, cpu_ms))
        print(
            f"round {round_number + 1}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
            f"server CPU {cpu_ms:.2f} ms per notification (accept + delivery)",
            flush=True,
        )
    print(
        f"\none device at {args.rate} req/s for {args.seconds} s, median of {args.rounds} rounds: "
        f"p50 {statistics.median(r[0] for r in results):.1f} ms, "
        f"p99 {statistics.median(r[1] for r in results):.1f} ms, "
        f"server CPU {statistics.median(r[2] for r in results):.2f} ms per notification"
    )


if __name__ == "__main__":
    asyncio.run(main())
