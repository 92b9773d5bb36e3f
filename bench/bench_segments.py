"""Segment evaluation over 1,000,000 users: a count, and a notification to the segment accepted.

Issue 10's goals: with a three-clause rule (an interest, a country, last activity), the count
in < 1 s and a notification to it accepted in < 3 s, on both engines, memory flat.

A real `pushwise api` process (no workers: acceptance is what is measured) on a fresh
database, SQLite by default or PostgreSQL with `--postgres URL`. The app is made through
the API; its users (one active iOS device each, countries, activity, interests) are made
inside the database by SQL (`bench/segment_population.py`), with the server stopped, then
the server starts again as an operator would find it: on SQLite pushwise gathers its own
planner statistics (`store/planner_statistics.py`); on PostgreSQL the bench runs `ANALYZE`,
as autovacuum would within a minute of such a load.

Measured through the API: `POST /v1/segments/preview` (the count and 20 ids) and
`POST /v1/notifications` with `to.segment` (accepted once a delivery for every member's
device is written). The server's RSS is sampled every 20 ms during each request: the
audience never enters Python, so it stays flat whatever the segment's size. The ceiling,
in the same run on the same data: the rule hand-written in SQL for a bare driver (the
count, and the deliveries' `INSERT ... SELECT`, rolled back).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parent))

from bench_accept_latency import fresh_postgres
from bench_apns import PushwiseServer
from segment_population import DAY, RULE, fill_postgres, fill_sqlite, raw_count_sql

HALF_LIFE = 14 * DAY  # the default interest half-life


class RssPeak:
    """The peak resident memory of a process while a block runs, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> RssPeak:
        self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Figures:
    fill_seconds: float = 0.0
    members: int = 0
    recipients: int = 0
    count_seconds: list[float] = field(default_factory=list)
    accept_seconds: list[float] = field(default_factory=list)
    raw_count_seconds: list[float] = field(default_factory=list)
    raw_insert_seconds: list[float] = field(default_factory=list)
    rss_start: int = 0
    rss_peaks: list[int] = field(default_factory=list)


async def timed(
    call: Callable[[], Awaitable[httpx.Response]], server: PushwiseServer
) -> tuple[float, Any, int]:
    with RssPeak(server.process.pid) as rss:
        started = time.perf_counter()
        answer = await call()
        elapsed = time.perf_counter() - started
    if answer.status_code >= 300:
        raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
    return elapsed, answer.json(), rss.peak


async def wait_for_statistics(path: str) -> None:
    """SQLite: until pushwise has gathered planner statistics for the users (a few seconds after start)."""
    for _ in range(600):
        connection = sqlite3.connect(path)
        try:
            found = connection.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users'").fetchone()
        except sqlite3.OperationalError:
            found = None
        finally:
            connection.close()
        if found:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("pushwise did not gather planner statistics within a minute")


def raw_insert_sql(app_id: str, now: float, *, postgres: bool) -> list[str]:
    """The deliveries of the rule's members, hand-written (the notification row for the key)."""
    members = raw_count_sql(app_id, now, HALF_LIFE).replace("SELECT count(*)", "SELECT u.id")
    active = "d.active" if postgres else "d.active = 1"
    return [
        "INSERT INTO notifications (id, app_id, spec, target, priority, created_at, recipients) "
        f"VALUES ('ntf_raw', '{app_id}', '{{}}', '{{}}', 'normal', {now}, 0)",
        "INSERT INTO deliveries (notification_id, app_id, device_id, user_id, channel, state, lane, "
        "attempts, due_at, accepted_at) SELECT 'ntf_raw', d.app_id, d.id, d.user_id, 'apns', 'queued', 1, 0, "
        f"{now}, {now} FROM devices d WHERE d.app_id = '{app_id}' AND {active} AND d.user_id IN ({members})",
    ]


async def ceiling(
    database: str, app_id: str, now: float, postgres: bool, figures: Figures, repeats: int
) -> None:
    if postgres:
        connection = await asyncpg.connect(database)
        try:
            for _ in range(repeats):
                started = time.perf_counter()
                await connection.fetchval(raw_count_sql(app_id, now, HALF_LIFE))
                figures.raw_count_seconds.append(time.perf_counter() - started)
                transaction = connection.transaction()
                await transaction.start()
                started = time.perf_counter()
                for statement in raw_insert_sql(app_id, now, postgres=True):
                    await connection.execute(statement)
                figures.raw_insert_seconds.append(time.perf_counter() - started)
                await transaction.rollback()
        finally:
            await connection.close()
        return
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            connection.execute(raw_count_sql(app_id, now, HALF_LIFE)).fetchone()
            figures.raw_count_seconds.append(time.perf_counter() - started)
            connection.execute("BEGIN IMMEDIATE")
            started = time.perf_counter()
            for statement in raw_insert_sql(app_id, now, postgres=False):
                connection.execute(statement)
            figures.raw_insert_seconds.append(time.perf_counter() - started)
            connection.execute("ROLLBACK")
    finally:
        connection.close()


async def run(args: argparse.Namespace) -> Figures:
    figures = Figures()
    workdir = tempfile.mkdtemp(prefix="pushwise-segments-")
    postgres_url = await fresh_postgres(args.postgres, "pushwise_segments") if args.postgres else None
    env = {"PUSHWISE_DATABASE_URL": postgres_url} if postgres_url else None
    os.environ["BENCH_MODE"] = "api"
    server = PushwiseServer(workdir, args.port, env)
    try:
        async with httpx.AsyncClient(timeout=120) as client:
            await server.wait_ready(client)
            admin = {"authorization": f"Bearer {server.admin_key}"}
            app = (
                await client.post(f"{server.base}/v1/apps", json={"name": "segments"}, headers=admin)
            ).json()
    finally:
        server.stop()
    now = time.time()
    started = time.perf_counter()
    if postgres_url:
        await fill_postgres(postgres_url, app["id"], args.users, now)
    else:
        await asyncio.to_thread(fill_sqlite, server.db_path, app["id"], args.users, now)
    figures.fill_seconds = time.perf_counter() - started

    server = PushwiseServer(workdir, args.port, env)
    headers = {"authorization": f"Bearer {app['server_key']}"}
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=120, headers=headers) as client:
            await server.wait_ready(client)
            if not postgres_url:
                await wait_for_statistics(server.db_path)
            # Warm-up (caches, SQLite's page cache of up to 64 MiB per connection), then the baseline.
            await client.post("/v1/segments/preview", json={"rule": RULE})
            warm_up = {"to": {"segment": {"rule": RULE}}, "content": {"title": "Warm-up"}}
            (await client.post("/v1/notifications", json=warm_up)).raise_for_status()
            figures.rss_start = psutil.Process(server.process.pid).memory_info().rss
            for _ in range(args.repeats):
                seconds, body, peak = await timed(
                    lambda: client.post("/v1/segments/preview", json={"rule": RULE}), server
                )
                figures.count_seconds.append(seconds)
                figures.members = body["count"]
                figures.rss_peaks.append(peak)
            for n in range(args.repeats):
                sale = {"to": {"segment": {"rule": RULE}}, "content": {"title": f"Shoes sale {n}"}}
                seconds, body, peak = await timed(
                    lambda sale=sale: client.post("/v1/notifications", json=sale),
                    server,
                )
                figures.accept_seconds.append(seconds)
                figures.recipients = body["recipients"]
                figures.rss_peaks.append(peak)
    finally:
        server.stop()
    await ceiling(
        postgres_url or server.db_path, app["id"], time.time(), bool(postgres_url), figures, args.repeats
    )
    return figures


def report(args: argparse.Namespace, figures: Figures) -> None:
    engine = "PostgreSQL" if args.postgres else "SQLite"
    mib = 1024 * 1024
    count = statistics.median(figures.count_seconds)
    accept = statistics.median(figures.accept_seconds)
    raw_count = statistics.median(figures.raw_count_seconds)
    raw_insert = statistics.median(figures.raw_insert_seconds)
    print(f"{engine}: {args.users:,} users made by SQL in {figures.fill_seconds:.1f} s")
    print(f"rule: {RULE}")
    print(f"segment: {figures.members:,} users; a notification to it: {figures.recipients:,} deliveries")
    print(
        f"count (POST /v1/segments/preview, count + 20 ids), median of {args.repeats}: {count:.3f} s "
        f"(runs: {', '.join(f'{s:.3f}' for s in figures.count_seconds)}); goal < 1 s"
    )
    runs = ", ".join(f"{s:.3f}" for s in figures.accept_seconds)
    print(
        f"notification accepted (POST /v1/notifications, to.segment), median of {args.repeats}: "
        f"{accept:.3f} s (runs: {runs}); goal < 3 s"
    )
    print(
        f"ceiling, hand-written SQL on a bare driver: count {raw_count:.3f} s "
        f"(pushwise {count / raw_count:.2f}x), deliveries INSERT ... SELECT {raw_insert:.3f} s "
        f"(pushwise {accept / raw_insert:.2f}x)"
    )
    peak = max(figures.rss_peaks)
    print(
        f"server RSS: {figures.rss_start / mib:.0f} MiB after a warm-up of each, peak {peak / mib:.0f} MiB "
        f"during the measured requests (+{(peak - figures.rss_start) / mib:.0f} MiB)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5, help="previews and notifications measured")
    parser.add_argument("--port", type=int, default=18093)
    parser.add_argument("--postgres", metavar="URL", help="e.g. postgresql://postgres@127.0.0.1/postgres")
    args = parser.parse_args()
    report(args, await run(args))


if __name__ == "__main__":
    asyncio.run(main())
