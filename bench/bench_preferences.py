"""What checking preferences costs end to end: delivery throughput with the gate vs without it.

One process, one SQLite file, one APNs simulator (granian, its own process). Every user has
one iPhone and stored preferences (an explicit yes to promotions on it, choices on other
categories and channels, a global unsubscribe of e-mail), and every notification is a
promotion, so the gate reads a row per delivery and decides "send" for every one: both runs
send exactly the same pushes. The runs differ only in the worker's pre-send gate: pushwise's (one read per
claimed batch, one pure decision per delivery) or one that lets everything through (this
file's `NoCheck`, never used outside this benchmark). Rounds alternate, medians are printed,
and the raw ceiling (a bare HTTP/2 client against the same simulator) is measured in the same
run.

    python bench/bench_preferences.py --users 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).parent))

from apns_clients import measure_pyreqwest_raw, simulator_provider

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.delivery.gate import Screened
from pushwise.delivery.worker import DeliveryWorker, PlannedNotification
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator
from pushwise.store import migrate
from pushwise.store.queue import ClaimedDelivery
from pushwise.store.schema import channel_unsubscribes, deliveries, user_preferences, users

ADMIN_KEY = "pw_admin_bench_preferences_0123456789"
PENDING = ("queued", "sending", "retrying")


class NoCheck:
    """The run without preferences: a pre-send gate that holds nothing back and reads nothing."""

    async def screen(
        self, claimed: Sequence[ClaimedDelivery], planned: Mapping[str, PlannedNotification], now: float
    ) -> Screened:
        return Screened()


async def populate(
    http: httpx.AsyncClient, sim: ApnsSimulatorHandle, count: int
) -> tuple[str, dict[str, str]]:
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    app = (await http.post("/v1/apps", json={"name": "bench"}, headers=admin)).json()
    headers = {"authorization": f"Bearer {app['server_key']}"}
    provider = simulator_provider(sim)
    (
        await http.put(f"/v1/apps/{app['id']}/providers/apns", json=provider, headers=headers)
    ).raise_for_status()
    categories = [
        {"key": "promotions", "name": "Promotions"},
        {"key": "news", "name": "News", "default": False, "channels": ["email", "inbox"]},
    ]
    (await http.put(f"/v1/apps/{app['id']}/categories", json=categories, headers=headers)).raise_for_status()
    for start in range(0, count, 1000):
        batch = [
            {"platform": "ios", "token": f"{n:064x}", "user_id": f"user-{n}"}
            for n in range(start, min(count, start + 1000))
        ]
        (await http.post("/v1/devices:batch", json={"devices": batch}, headers=headers)).raise_for_status()
    return app["id"], headers


async def store_preferences(services: Services, app_id: str) -> None:
    """Every user's preferences, written in one go: an explicit yes to promotions on the iPhone
    (a row the gate reads for every delivery of the run, and that lets it through), choices on
    other channels and categories, and a global unsubscribe of e-mail (rows the gate's read
    leaves out: they cannot matter to an iPhone promotion)."""
    now = services.clock.now()
    async with services.db.writing() as conn:
        user_ids = list((await conn.execute(select(users.c.id).where(users.c.app_id == app_id))).scalars())
        choices = [
            {"user_id": u, "category": key, "channel": channel, "allowed": allowed, "updated_at": now}
            for u in user_ids
            for key, channel, allowed in (
                ("promotions", "email", False),
                ("promotions", "webpush", False),
                ("news", "inbox", True),
            )
        ]
        await conn.execute(insert(user_preferences), choices)
        unsubscribed = [{"user_id": u, "channel": "email", "app_id": app_id, "at": now} for u in user_ids]
        await conn.execute(insert(channel_unsubscribes), unsubscribed)


async def gate_alone(services: Services, app_id: str, batches: int = 100) -> float:
    """Wall µs per delivery of the gate itself on full batches (500): its one read and the decisions."""
    async with services.db.read.connect() as conn:
        user_ids = list((await conn.execute(select(users.c.id).where(users.c.app_id == app_id))).scalars())
    spec = NotificationSpec(Content(title="Sale"), category="promotions")
    planned = {"ntf_bench": PlannedNotification(spec, 0.0, None)}
    size = 500
    claimed_batches = [
        [
            ClaimedDelivery(
                id=b * size + n,
                notification_id="ntf_bench",
                app_id=app_id,
                device_id=None,
                user_id=user_ids[(b * size + n) % len(user_ids)],
                channel="apns",
                attempts=0,
                replays=0,
                accepted_at=0.0,
                token="t",
                subscription=None,
                device_active=True,
                timezone=None,
            )
            for n in range(size)
        ]
        for b in range(batches)
    ]
    gate, now = services.engine.gate, services.clock.now()
    began = time.perf_counter()
    for claimed in claimed_batches:
        screened = await gate.screen(claimed, planned, now)
        assert not screened.held  # none of these preferences stops an iPhone promotion
    return (time.perf_counter() - began) / (batches * size) * 1e6


PROMOTION = {"to": {"all": True}, "content": {"title": "Sale", "body": "Boots"}, "category": "promotions"}


async def one_round(
    services: Services,
    worker: DeliveryWorker,
    http: httpx.AsyncClient,
    headers: dict[str, str],
    body: Mapping[str, Any] = PROMOTION,
) -> tuple[float, float]:
    """Deliveries per second from acceptance to the last outcome, and this process's CPU µs per
    delivery (every thread: API, workers, SQLite; the simulator runs apart). On a shared machine the
    CPU cost holds where the rate drifts with the neighbours' load."""
    running = asyncio.create_task(worker.run())
    began, cpu_began = time.perf_counter(), time.process_time()
    accepted = (await http.post("/v1/notifications", json=body, headers=headers)).json()
    query = select(func.count()).where(
        deliveries.c.notification_id == accepted["id"], deliveries.c.state.in_(PENDING)
    )
    while True:
        async with services.db.read.connect() as conn:
            if not await conn.scalar(query):
                break
        await asyncio.sleep(0.02)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    await worker.stop()
    await running
    async with services.db.read.connect() as conn:
        delivered = await conn.scalar(
            select(func.count()).where(
                deliveries.c.notification_id == accepted["id"], deliveries.c.state == "delivered"
            )
        )
    assert delivered == accepted["recipients"], (delivered, accepted["recipients"])
    return float(accepted["recipients"]) / elapsed, cpu / accepted["recipients"] * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="pushwise-bench-prefs-")
    sim = start_apns_simulator(tls=True, seed=2, workdir=workdir, engine="granian")
    url = f"sqlite:///{workdir}/bench.db"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        admin_key=ADMIN_KEY,
        secret_key="bench-preferences-secret-key-0123456789abcdef",
        allow_private_endpoints=True,
        log_level="warning",
    )
    services = build_services(settings, rng=random.Random(1))
    engine = services.engine
    rates: dict[str, list[float]] = {"with preferences": [], "without": []}
    costs: dict[str, list[float]] = {"with preferences": [], "without": []}
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as http:
            app_id, headers = await populate(http, sim, args.users)
            await store_preferences(services, app_id)
            checked, unchecked = engine.worker(), engine.worker(gate=NoCheck())
            await one_round(services, checked, http, headers)  # warm-up: connections, caches
            alone = await gate_alone(services, app_id)
            runs = {"with preferences": checked, "without": unchecked}
            for number in range(args.rounds):
                # ABBA: a drift of the shared machine's speed lands on both sides alike.
                order = list(runs) if number % 2 == 0 else list(reversed(runs))
                for name in order:
                    sim.reset()
                    rate, cost = await one_round(services, runs[name], http, headers)
                    rates[name].append(rate)
                    costs[name].append(cost)
        sim.reset()
        ceiling = await measure_pyreqwest_raw(sim, 20_000, 200)
    finally:
        await services.close()
        sim.stop()
    on, off = statistics.median(rates["with preferences"]), statistics.median(rates["without"])
    print(f"\nPreference check, end to end (SQLite, {args.users} users, {args.rounds} rounds, ABBA order)")
    print(f"{'what':36} {'deliveries/s':>13} {'vs ceiling':>11}  rounds")
    print(f"{'raw ceiling (pyreqwest, APNs sim)':36} {ceiling:13.0f} {1:11.2f}")
    for label, name, rate in (
        ("pushwise with preferences", "with preferences", on),
        ("pushwise without the check", "without", off),
    ):
        shown = ", ".join(f"{r:.0f}" for r in rates[name])
        print(f"{label:36} {rate:13.0f} {rate / ceiling:11.2f}  {shown}")
    paired = [a / b for a, b in zip(rates["with preferences"], rates["without"], strict=True)]
    each = ", ".join(f"{r:.3f}" for r in paired)
    print(f"\nratio with / without: of the medians {on / off:.3f}; of each round {each}")
    print(f"median of the rounds' ratios: {statistics.median(paired):.3f}")
    cpu_on, cpu_off = statistics.median(costs["with preferences"]), statistics.median(costs["without"])
    print(f"the gate alone, batches of 500 (one read each + decisions): {alone:.1f} µs per delivery")
    print(
        f"CPU per delivery (this process): with {cpu_on:.0f} µs, without {cpu_off:.0f} µs; "
        f"the check costs {cpu_on - cpu_off:.1f} µs, throughput ratio at equal CPU {cpu_off / cpu_on:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
