"""The gate's cost, and caps under contention.

(a) The pure decision (`domain/gate/batch.screen_batch`) for a batch of 500 deliveries
    under a policy with caps, a gap, quiet hours and fatigue, users with a history: µs per
    delivery.
(b) The gate as the worker meets it (`GateStates.screen`: the batch's state read, every
    decision, the ledger slots reserved, one transaction) on SQLite and, when it is
    reachable, PostgreSQL: µs per delivery, against the same batch's bare claim-sized read
    of its users (the floor any gate pays).
(c) Three `pushwise worker` processes on PostgreSQL sending to 1,000 users, several
    notifications each, under a tight cap: deliveries settled per second (sent or
    deferred), and the cap violations found afterwards (users over the cap: must be 0).

    python bench/bench_gate.py --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
from sqlalchemy import select

from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.delivery.gate import Gate
from pushwise.delivery.worker import PlannedNotification
from pushwise.domain.audience.learning import LearningOptions
from pushwise.domain.clock import ManualClock
from pushwise.domain.gate import GateDelivery, GateNotice, GatePolicy, SentPush, UserState
from pushwise.domain.gate.batch import BatchState, screen_batch
from pushwise.domain.gate.policy import Cap, FatigueModel, QuietWindow
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns.harness import start_apns_simulator
from pushwise.store import migrate
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.db import open_database
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.gate_state import GateStates
from pushwise.store.notifications import Target
from pushwise.store.policies import PolicyRepository
from pushwise.store.queue import ClaimedDelivery
from pushwise.store.schema import users
from pushwise.store.sealing import Sealer

BATCH = 500
POLICY = {
    "caps": [{"window_seconds": 86_400, "max": 5}, {"window_seconds": 3600, "max": 2, "category": "deals"}],
    "min_gap_seconds": 60,
    "quiet_hours": {"start": "02:00", "end": "04:00"},
    "fatigue": {},
}
NOW = 1_800_000_000.0  # 08:00 UTC: outside the quiet hours, so every check runs to the end


def _timed(work: Callable[[], object], repeat: int) -> float:
    began = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - began) / repeat


def pure_decisions(rounds: int) -> float:
    """µs per delivery of `screen_batch` over a batch of 500 users with two pushes of history each."""
    policy = GatePolicy(
        caps=(Cap(86_400, 5), Cap(3600, 2, category="deals")),
        min_gap_seconds=60,
        quiet_hours=QuietWindow("02:00", "04:00"),
        fatigue=FatigueModel(),
    )
    notice = GateNotice(id="n", created_at=NOW, expires_at=NOW + 86_400, content_key="k")
    deliveries = [
        GateDelivery(
            "apns",
            "deals",
            False,
            id=n,
            notice=notice,
            app_id="app",
            user_id=f"u{n}",
            timezone="Europe/Berlin",
        )
        for n in range(BATCH)
    ]
    history = tuple(SentPush(0, f"old{k}", NOW - 7200 * (k + 1), "apns", category="deals") for k in range(2))
    state = BatchState(
        {f"u{n}": UserState(sent=history, timezone="Europe/Berlin") for n in range(BATCH)}, {"app": policy}
    )
    samples = [_timed(lambda: screen_batch(deliveries, state, NOW), 5) for _ in range(rounds)]
    return statistics.median(samples) / BATCH * 1e6


async def _gate_round(url: str, rounds: int) -> tuple[float, float]:
    """µs per delivery of the whole gate transaction, and of a bare read of the batch's users."""
    db = open_database(url, pool_size=2)
    clock = ManualClock(NOW)
    try:
        app_id = (await AppRepository(db, clock).create_with_keys("bench")).app.id
        await PolicyRepository(db, clock).put(app_id, POLICY)
        registered = await DeviceRepository(db, clock).register_many(
            app_id,
            [
                DeviceRegistration("ios", secrets.token_hex(32), user_external_id=f"u{n}")
                for n in range(BATCH)
            ],
        )
        states = GateStates(db, LearningOptions.defaults())
        spec = NotificationSpec(Content(title="Deals", body="today"), category="deals")
        planned = PlannedNotification(spec, NOW, NOW + 30 * 86_400)
        gate_seconds, read_seconds = [], []
        for number in range(rounds):
            claimed = [
                ClaimedDelivery(
                    id=number * BATCH + n + 1,
                    notification_id=f"n{number}",
                    app_id=app_id,
                    device_id=r.device.id,
                    user_id=r.device.user_id,
                    channel="apns",
                    attempts=0,
                    replays=0,
                    accepted_at=NOW,
                    token=r.device.token,
                    subscription=None,
                    device_active=True,
                    timezone=None,
                )
                for n, r in enumerate(registered)
            ]
            gate = Gate(states)
            began = time.perf_counter()
            screened = await gate.screen(claimed, {f"n{number}": planned}, NOW + number * 86_400)
            gate_seconds.append(time.perf_counter() - began)
            assert not screened.held, f"the bench batch should all pass: {list(screened.held.values())[:1]}"
            bare = select(users.c.id).where(users.c.id.in_([item.user_id for item in claimed]))
            began = time.perf_counter()
            await db.query(lambda conn, bare=bare: list(conn.execute(bare)))
            read_seconds.append(time.perf_counter() - began)
        return statistics.median(gate_seconds) / BATCH * 1e6, statistics.median(read_seconds) / BATCH * 1e6
    finally:
        await db.dispose()


async def contention(
    server_url: str, users_count: int, notifications: int, cap: int, workdir: str
) -> dict[str, float]:
    name = f"pw_bench_gate_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{server_url}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{server_url}/{name}"
    sim = start_apns_simulator(tls=True, seed=2, workdir=workdir, engine="granian")
    secret = "bench-gate-secret-" + secrets.token_hex(8)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        services = build_services(
            Settings(database_url=url, secret_key=secret, secret_key_file=f"{workdir}/key", db_pool_size=2),
            rng=random.Random(1),
        )
        try:
            app_id = (await AppRepository(services.db, services.clock).create_with_keys("contention")).app.id
            public = {
                "team_id": sim.team_id,
                "key_id": sim.key_id,
                "topic": sim.topic,
                "environment": "development",
                "endpoint": sim.endpoint,
                "ca_file": sim.ca_file,
            }
            await CredentialRepository(services.db, services.clock, Sealer(services.secret_key)).put(
                app_id, "apns", public, {"private_key": sim.private_key_pem}
            )
            await services.engine.policies.put(app_id, {"caps": [{"window_seconds": 86_400, "max": cap}]})
            names = [f"user{n:05d}" for n in range(users_count)]
            await DeviceRepository(services.db, services.clock).register_many(
                app_id,
                [
                    DeviceRegistration("ios", f"{n:064x}", user_external_id=name)
                    for n, name in enumerate(names)
                ],
            )
            env = {
                **os.environ,
                "PUSHWISE_DATABASE_URL": url,
                "PUSHWISE_SECRET_KEY": secret,
                "PUSHWISE_ALLOW_PRIVATE_ENDPOINTS": "true",
                "PUSHWISE_WORKER_BATCH_SIZE": "200",
                "PUSHWISE_DB_POOL_SIZE": "4",
                "PUSHWISE_LOG_LEVEL": "error",
            }
            command = [sys.executable, "-m", "pushwise", "worker"]
            workers = [await asyncio.to_thread(subprocess.Popen, command, env=env) for _ in range(3)]
            await asyncio.sleep(3.0)  # started and idle
            began = time.perf_counter()
            for number in range(notifications):
                spec = NotificationSpec(Content(title=f"Deal {number}", body="today only"))
                await services.engine.accept(app_id, AcceptRequest(spec, Target(user_ids=tuple(names))))
            total = users_count * notifications
            connection = await asyncpg.connect(url)
            try:
                while True:
                    settled = await connection.fetchval(
                        "SELECT count(*) FROM deliveries WHERE state IN ('delivered', 'deferred')"
                    )
                    if settled >= total:
                        break
                    await asyncio.sleep(0.1)
                seconds = time.perf_counter() - began
                over = await connection.fetchval(
                    "SELECT count(*) FROM (SELECT user_id FROM deliveries WHERE state = 'delivered' "
                    "GROUP BY user_id HAVING count(DISTINCT notification_id) > $1) AS over",
                    cap,
                )
                delivered = await connection.fetchval(
                    "SELECT count(*) FROM deliveries WHERE state = 'delivered'"
                )
            finally:
                await connection.close()
        finally:
            await services.close()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        sim.stop()
        admin = await asyncpg.connect(f"{server_url}/postgres")
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()
    return {
        "settled_per_s": total / seconds,
        "delivered": float(delivered),
        "violations": float(over),
        "s": seconds,
    }


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--notifications", type=int, default=6)
    parser.add_argument("--cap", type=int, default=2)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="pushwise-bench-gate-")
    print(f"(a) pure decisions: {pure_decisions(args.rounds):.1f} µs per delivery (median of {args.rounds})")
    sqlite_url = f"sqlite:///{workdir}/gate.db"
    migrate.upgrade(sqlite_url)
    gate, floor = _run(_gate_round(sqlite_url, args.rounds))
    print(f"(b) SQLite: the gate {gate:.1f} µs per delivery; a bare read of the batch's users {floor:.1f} µs")
    try:
        name = f"pw_bench_gate_{secrets.token_hex(4)}"
        _run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
    except OSError:
        print("PostgreSQL is not reachable: (b) on PostgreSQL and (c) skipped")
        return
    try:
        migrate.upgrade(f"{args.postgres}/{name}")
        gate, floor = _run(_gate_round(f"{args.postgres}/{name}", args.rounds))
        print(
            f"(b) PostgreSQL: the gate {gate:.1f} µs per delivery; "
            f"a bare read of the batch's users {floor:.1f} µs"
        )
    finally:
        _run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}"'))
    runs = [
        _run(
            contention(args.postgres, args.users, args.notifications, args.cap, tempfile.mkdtemp(dir=workdir))
        )
        for _ in range(max(1, args.rounds // 2))
    ]
    rates = [run["settled_per_s"] for run in runs]
    violations = sum(run["violations"] for run in runs)
    print(
        f"(c) 3 workers on PostgreSQL, {args.users} users x {args.notifications} notifications, "
        f"cap {args.cap}/day: {statistics.median(rates):.0f} deliveries settled/s (median of {len(runs)}: "
        f"{', '.join(f'{rate:.0f}' for rate in rates)}); delivered {runs[0]['delivered']:.0f} "
        f"(= users x cap: {args.users * args.cap}); cap violations {violations:.0f}"
    )


async def _admin(server_url: str, statement: str) -> None:
    connection = await asyncpg.connect(f"{server_url}/postgres", timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
