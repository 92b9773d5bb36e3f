"""`POST /v1/users/batch`: 100,000 users upserted through the real HTTP API on SQLite (issue goal: < 60 s).

A real `pushwise api` subprocess on a fresh SQLite file; the client posts batches of
1,000 users (attributes, location, locale, time zone), one request at a time, then
the same users again (every row an update). The raw ceiling in the same run: the same
rows inserted into the same schema by Python's bare `sqlite3` with one `executemany`
per batch, no HTTP, no validation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from bench_apns import PushwiseServer

from pushwise.store.migrate import upgrade

COUNTRIES = ["US", "DE", "CN", "BR", "IN", "FR", "JP", "GB"]


def population(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "external_id": f"user-{i:07d}",
            "timezone": "Europe/Berlin",
            "locale": "de-DE",
            "location": {"country": rng.choice(COUNTRIES), "city": "Springfield"},
            "attributes": {
                "age": rng.randint(18, 80),
                "plan": rng.choice(["free", "gold"]),
                "vip": i % 7 == 0,
            },
            "tags": ["bench"],
        }
        for i in range(count)
    ]


async def through_api(users: list[dict[str, Any]], batch: int, port: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as workdir:
        server = PushwiseServer(workdir, port)
        try:
            async with httpx.AsyncClient(timeout=120) as client:
                await server.wait_ready(client)
                admin = {"authorization": f"Bearer {server.admin_key}"}
                app = (await client.post(f"{server.base}/v1/apps", json={"name": "b"}, headers=admin)).json()
                headers = {"authorization": f"Bearer {app['server_key']}"}
                timings = []
                for _round in ("create", "update"):
                    started = time.perf_counter()
                    for start in range(0, len(users), batch):
                        body = {"users": users[start : start + batch]}
                        url = f"{server.base}/v1/users/batch"
                        answer = await client.post(url, json=body, headers=headers)
                        answer.raise_for_status()
                    timings.append(time.perf_counter() - started)
                return timings[0], timings[1]
        finally:
            server.stop()


def raw_sqlite(users: list[dict[str, Any]], batch: int) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        path = f"{workdir}/raw.db"
        upgrade(f"sqlite:///{path}")
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("INSERT INTO apps (id, name, created_at) VALUES ('app', 'raw', 0)")
        statement = (
            "INSERT INTO users (id, app_id, external_id, timezone, locale, country, city, attributes, tags,"
            " created_at, updated_at) VALUES (?, 'app', ?, ?, ?, ?, ?, ?, ?, 0, 0)"
        )
        started = time.perf_counter()
        for start in range(0, len(users), batch):
            rows = [
                (
                    f"usr_{u['external_id']}",
                    u["external_id"],
                    u["timezone"],
                    u["locale"],
                    u["location"]["country"],
                    u["location"]["city"],
                    json.dumps(u["attributes"]),
                    json.dumps(u["tags"]),
                )
                for u in users[start : start + batch]
            ]
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(statement, rows)
            connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=18094)
    args = parser.parse_args()
    users = population(args.users, seed=7)
    created, updated, raw = [], [], []
    for _ in range(args.rounds):
        first, second = await through_api(users, args.batch, args.port)
        created.append(first)
        updated.append(second)
        raw.append(await asyncio.to_thread(raw_sqlite, users, args.batch))
    print(f"{args.users} users in batches of {args.batch}, medians of {args.rounds} rounds")
    print(f"{'':32}{'seconds':>10}{'users/s':>12}")
    for label, runs in (
        ("API, new users", created),
        ("API, every user updated", updated),
        ("raw sqlite3 executemany", raw),
    ):
        seconds = statistics.median(runs)
        print(f"{label:32}{seconds:>10.2f}{args.users / seconds:>12,.0f}")


if __name__ == "__main__":
    asyncio.run(main())
