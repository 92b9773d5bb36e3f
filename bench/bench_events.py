"""Event ingest through the real API (`POST /v1/events`, batches of 1,000), profiles updated.

A real `pushwise api` subprocess on a fresh database (SQLite by default, PostgreSQL
with `--postgres`), a mix of behaviour and notification events from 10,000 users over
20 categories, posted by `--concurrency` clients. In the same run, the ceiling: the
same event rows inserted into the same `user_events` table with a bare driver
`executemany` (no HTTP, no validation, no profile learning), so the figure is a ratio
that holds on a noisy machine. Issue 10's goal: >= 20,000 events/s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))

from bench_accept_latency import fresh_postgres
from bench_apns import PushwiseServer, cpu_seconds

from pushwise.store import migrate

TYPES = [
    ("item_viewed", 50),
    ("app_open", 18),
    ("added_to_cart", 10),
    ("opened", 10),
    ("clicked", 5),
    ("purchased", 3),
    ("searched", 2),
    ("dismissed", 2),
]
CATEGORIES = [f"category-{n}" for n in range(20)]


def make_batches(count: int, size: int, users: int, seed: int, now: float) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    kinds = [kind for kind, weight in TYPES for _ in range(weight)]
    batches = []
    for b in range(count):
        batch = []
        for i in range(size):
            kind = rng.choice(kinds)
            event: dict[str, Any] = {
                "id": f"ev-{b}-{i}",
                "type": kind,
                "user_id": f"user-{rng.randrange(users)}",
                "at": datetime.fromtimestamp(now - rng.uniform(0, 6 * 86400), UTC).isoformat(),
            }
            if kind not in ("app_open", "searched"):
                event["category"] = rng.choice(CATEGORIES)
            if kind == "purchased":
                event["value"] = round(rng.uniform(5, 200), 2)
                event["currency"] = "EUR"
            batch.append(event)
        batches.append(batch)
    return batches


async def post_all(base: str, headers: dict[str, str], bodies: list[bytes], concurrency: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            answer = await client.post(f"{base}/v1/events", content=body, headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"{answer.status_code}: {answer.text[:200]}")

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return time.perf_counter() - started


def raw_ceiling(batches: list[list[dict[str, Any]]], workdir: str) -> float:
    """The same rows into the same table with sqlite3's executemany: no HTTP, no learning."""
    path = f"{workdir}/ceiling.db"
    migrate.upgrade(f"sqlite:///{path}")
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("INSERT INTO apps (id, name, created_at) VALUES ('app', 'bench', 0)")
    connection.executemany(
        "INSERT INTO users (id, app_id, external_id, attributes, tags, created_at, updated_at) "
        "VALUES (?, 'app', ?, '{}', '[]', 0, 0)",
        [(f"u{n}", f"user-{n}") for n in range(10_000)],
    )
    sql = (
        "INSERT INTO user_events (app_id, event_key, user_id, type, at, received_at, category, value, "
        "currency, properties) VALUES ('app', ?, ?, ?, ?, ?, ?, ?, ?, '{}')"
    )
    started = time.perf_counter()
    for batch in batches:
        rows = [
            (
                event["id"],
                "u" + event["user_id"].removeprefix("user-"),
                event["type"],
                datetime.fromisoformat(event["at"]).timestamp(),
                time.time(),
                event.get("category"),
                event.get("value"),
                event.get("currency"),
            )
            for event in batch
        ]
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(sql, rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


async def one_round(args: argparse.Namespace, round_number: int) -> tuple[float, float, float]:
    workdir = tempfile.mkdtemp(prefix="pushwise-events-")
    database_url = (
        await fresh_postgres(args.postgres, f"pushwise_events_{round_number}") if args.postgres else None
    )
    os.environ["BENCH_MODE"] = "api"
    server = PushwiseServer(
        workdir, args.port, {"PUSHWISE_DATABASE_URL": database_url} if database_url else None
    )
    batches = make_batches(args.batches, args.batch_size, args.users, seed=round_number, now=time.time())
    bodies = [orjson.dumps({"events": batch}) for batch in batches]
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            await server.wait_ready(client)
            admin = {"authorization": f"Bearer {server.admin_key}"}
            app = (await client.post(f"{server.base}/v1/apps", json={"name": "bench"}, headers=admin)).json()
        headers = {"authorization": f"Bearer {app['server_key']}", "content-type": "application/json"}
        await post_all(server.base, headers, bodies[:2], 1)  # warm-up: users created, caches filled
        cpu_before = cpu_seconds(server.process.pid)
        elapsed = await post_all(server.base, headers, bodies[2:], args.concurrency)
        cpu = cpu_seconds(server.process.pid) - cpu_before
    finally:
        server.stop()
    events = (len(bodies) - 2) * args.batch_size
    ceiling = await asyncio.to_thread(raw_ceiling, batches[2:], workdir)
    return events / elapsed, events / ceiling, cpu * 1e6 / events


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=202, help="batches per round (the first 2 warm up)")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=18091)
    parser.add_argument("--postgres", metavar="URL", help="e.g. postgresql://postgres@127.0.0.1/postgres")
    args = parser.parse_args()
    results = []
    for round_number in range(args.rounds):
        rate, ceiling, cpu_us = await one_round(args, round_number)
        results.append((rate, ceiling, cpu_us))
        print(
            f"round {round_number + 1}: API {rate:,.0f} events/s (server CPU {cpu_us:.1f} µs/event); "
            f"bare SQLite insert of the same rows {ceiling:,.0f} events/s; ratio {rate / ceiling:.2f}",
            flush=True,
        )
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"\n{engine}, batches of {args.batch_size}, {args.concurrency} clients, "
        f"median of {args.rounds} rounds: "
        f"{statistics.median(r[0] for r in results):,.0f} events/s through the API with profiles learned, "
        f"{statistics.median(r[2] for r in results):.1f} µs server CPU per event; "
        f"ceiling (bare SQLite executemany) {statistics.median(r[1] for r in results):,.0f} events/s"
    )


if __name__ == "__main__":
    asyncio.run(main())
