"""A campaign targeted by an uplift model vs the same campaign without one, end to end
(issue 18 goal: targeted / plain throughput >= 0.9).

One process, one SQLite file, one APNs simulator (granian, its own process). Every user
has an iPhone and attributes; a randomised two-arm experiment with purchases trains a
model through the API (`bench_uplift.py`'s population: the push moves gold and silver
users, not free ones). Each round sends a one-off campaign (`POST /v1/campaigns`, run by
the campaign runner, sent by one worker) to every user: plain, or with `"uplift":
{"model", "cost_per_send": 0}`, so the model sends to everyone it expects any gain from.
Both keep the same 5% holdout, so the only difference is the model: its features read
and its scoring once per batch, the decisions, and the suppressions it makes. Throughput
is users decided per second from the campaign's creation to its last delivery's final
state (delivered, suppressed or held out), in ABBA order; medians are printed. On a shared
machine wall-clock rates swing with the neighbours, so the CPU this process spent per user
(the API, the runner and the worker are all in it) is printed too: its ratio is the steadier
figure.

    python bench/bench_targeting.py --users 20000 --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parent))

from apns_clients import simulator_provider
from bench_preferences import ADMIN_KEY, PENDING
from bench_uplift import load, population

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.serving import campaign_service
from pushwise.settings import Settings
from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator
from pushwise.store import migrate
from pushwise.store.schema import deliveries, notifications

PLAIN: dict[str, Any] = {"to": {"all": True}, "content": {"title": "Sale", "body": "Half price"}}


async def setup(
    http: httpx.AsyncClient, services: Services, sim: ApnsSimulatorHandle, users: int
) -> tuple[dict[str, str], str]:
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    app = (await http.post("/v1/apps", json={"name": "bench"}, headers=admin)).json()
    headers = {"authorization": f"Bearer {app['server_key']}"}
    provider = simulator_provider(sim)
    (
        await http.put(f"/v1/apps/{app['id']}/providers/apns", json=provider, headers=headers)
    ).raise_for_status()
    people = population(users, seed=5)
    experiment = await load(http, headers, people)
    for start in range(0, users, 1000):
        batch = [
            {"platform": "ios", "token": f"{n:064x}", "user_id": people[n]["id"]}
            for n in range(start, min(users, start + 1000))
        ]
        (await http.post("/v1/devices:batch", json={"devices": batch}, headers=headers)).raise_for_status()
    body = {
        "name": "bench",
        "learn_from": {"experiments": [experiment]},
        "goal": {"event": "purchased", "measure": "any"},
        "window_hours": 48,
        "cost_per_send": 0.05,
    }
    model = (await http.post("/v1/uplift-models", json=body, headers=headers)).json()["id"]
    await services.uplift_trainer.run_once()
    shown = (await http.get(f"/v1/uplift-models/{model}", headers=headers)).json()
    assert shown["status"] == "ready", shown
    return headers, str(model)


async def one_round(
    services: Services, http: httpx.AsyncClient, headers: dict[str, str], notification: dict[str, Any]
) -> tuple[float, float, Counter[str]]:
    worker = services.engine.worker()
    running = asyncio.create_task(worker.run())
    began, cpu_began = time.perf_counter(), time.process_time()
    body = {"name": "round", "notification": notification}
    campaign = (await http.post("/v1/campaigns", json=body, headers=headers)).json()["id"]
    await campaign_service(services).runner.sweep()
    of_campaign = deliveries.c.notification_id.in_(
        select(notifications.c.id).where(notifications.c.campaign_id == campaign)
    )
    pending = select(func.count()).where(of_campaign, deliveries.c.state.in_(PENDING))
    while True:
        async with services.db.read.connect() as conn:
            if not await conn.scalar(pending):
                break
        await asyncio.sleep(0.02)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    await worker.stop()
    await running
    async with services.db.read.connect() as conn:
        states = Counter(
            dict(
                (
                    await conn.execute(
                        select(deliveries.c.state, func.count())
                        .where(of_campaign)
                        .group_by(deliveries.c.state)
                    )
                ).all()
            )
        )
    users = sum(states.values())
    return users / elapsed, cpu / users * 1e6, states


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="pushwise-bench-targeting-")
    sim = start_apns_simulator(tls=True, seed=2, workdir=workdir, engine="granian")
    url = f"sqlite:///{workdir}/bench.db"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        admin_key=ADMIN_KEY,
        secret_key="bench-targeting-secret-0123456789abcdef",
        allow_private_endpoints=True,
        log_level="warning",
    )
    services = build_services(settings, rng=random.Random(1))
    rates: dict[str, list[float]] = {"targeted": [], "plain": []}
    costs: dict[str, list[float]] = {"targeted": [], "plain": []}
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as http:
            headers, model = await setup(http, services, sim, args.users)
            bodies = {
                "plain": {**PLAIN, "holdout_percent": 5},
                "targeted": {**PLAIN, "uplift": {"model": model, "cost_per_send": 0}},
            }
            await one_round(services, http, headers, bodies["plain"])  # warm-up
            for number in range(args.rounds):
                order = list(bodies) if number % 2 == 0 else list(reversed(bodies))
                for name in order:
                    sim.reset()
                    rate, cost, states = await one_round(services, http, headers, bodies[name])
                    rates[name].append(rate)
                    costs[name].append(cost)
                    print(
                        f"round {number + 1} {name:9} {rate:8.0f} users/s {cost:6.0f} CPU µs/user",
                        dict(states),
                        flush=True,
                    )
    finally:
        await services.close()
        sim.stop()
    targeted, plain = statistics.median(rates["targeted"]), statistics.median(rates["plain"])
    print(f"\nA campaign with and without an uplift model (SQLite, {args.users} users, {args.rounds} rounds)")
    for name in ("plain", "targeted"):
        shown = ", ".join(f"{r:.0f}" for r in rates[name])
        rate, cost = statistics.median(rates[name]), statistics.median(costs[name])
        print(f"{name:9} median {rate:8.0f} users/s, {cost:6.0f} CPU µs per user  ({shown})")
    paired = [a / b for a, b in zip(rates["targeted"], rates["plain"], strict=True)]
    print(
        f"targeted / plain: of the medians {targeted / plain:.3f}; median of the rounds' ratios "
        f"{statistics.median(paired):.3f} ({', '.join(f'{r:.3f}' for r in paired)})"
    )
    cpu = statistics.median(costs["plain"]) / statistics.median(costs["targeted"])
    print(f"throughput from CPU per user, targeted / plain: {cpu:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
