"""What personal content costs end to end: a templated campaign with a picked item and an A/B
split vs a plain one to the same users (issue 12 goal: personalised / plain >= 0.8).

One process, one SQLite file, one APNs simulator (granian, its own process); every user has an
iPhone and interests (their carts in a few of the catalogue's 10 categories), the catalogue 200
items. Plain: one fixed title and body for everyone. Personal: a template naming the user and
the picked item and its price in the user's locale, `pick: for_you`, `variants: ab`, so every
user's text differs. Rounds alternate (ABBA), medians are printed, and the raw ceiling (a bare
HTTP/2 client against the same simulator) is measured in the same run. Also printed: the
renderer alone, µs per delivery on full batches of 500 (its reads, the picks and the rendering).

    python bench/bench_personal.py --users 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))

from apns_clients import measure_pyreqwest_raw
from bench_preferences import ADMIN_KEY, one_round, populate

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.domain.notification import NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns.harness import start_apns_simulator
from pushwise.store import migrate
from pushwise.store.queue import ClaimedDelivery
from pushwise.store.schema import devices, users

TEMPLATE = {
    "locales": {
        "en": {
            "title": "{{ user.external_id }}, new for you: {{ item.title }}",
            "body": "{{ item.price | money(item.currency) }} in {{ item.category }}",
        },
        "de": {
            "title": "{{ user.external_id }}, neu für dich: {{ item.title }}",
            "body": "{{ item.price | money(item.currency) }}",
        },
    },
    "variants": [
        {"key": "a", "locales": {}},
        {"key": "b", "locales": {"en": {"title": "Last chance: {{ item.title }}"}}},
    ],
}
CATEGORIES = [f"cat-{n}" for n in range(10)]
PLAIN = {"to": {"all": True}, "content": {"title": "New arrivals", "body": "Have a look"}}
PERSONAL = {
    "to": {"all": True},
    "template": "arrival",
    "pick": {"strategy": "for_you"},
    "variants": {"mode": "ab"},
}


async def personalise_app(http: httpx.AsyncClient, headers: dict[str, str], count: int) -> None:
    rng = random.Random(3)
    items = [
        {
            "id": f"item-{n}",
            "title": f"Item {n}",
            "category": CATEGORIES[n % 10],
            "price": 10.0 + n,
            "currency": "EUR",
            "stock": 100,
        }
        for n in range(200)
    ]
    (await http.put("/v1/catalog/items", json={"items": items}, headers=headers)).raise_for_status()
    (await http.put("/v1/templates/arrival", json=TEMPLATE, headers=headers)).raise_for_status()
    for start in range(0, count, 1000):
        events = [
            {
                "id": f"cart-{n}-{k}",
                "type": "added_to_cart",
                "user_id": f"user-{n}",
                "category": rng.choice(CATEGORIES),
            }
            for n in range(start, min(count, start + 1000))
            for k in range(2)
        ]
        for half in (events[:1000], events[1000:]):
            (await http.post("/v1/events", json={"events": half}, headers=headers)).raise_for_status()


async def renderer_alone(
    services: Services, http: httpx.AsyncClient, headers: dict[str, str], batches: int = 20
) -> float:
    """CPU µs per delivery of `Renderer.personalise` (its reads, picks, variants, rendering and the write
    of what each delivery showed) on full batches of 500 of a personal notification, every user new."""
    accepted = (
        await http.post(
            "/v1/notifications", json={**PERSONAL, "send_at": "2099-01-01T00:00:00Z"}, headers=headers
        )
    ).json()
    specs = await services.engine.notifications.specs([accepted["id"]])
    spec = NotificationSpec.from_dict(specs[accepted["id"]].spec)
    async with services.db.read.connect() as conn:
        rows = (
            await conn.execute(
                select(devices.c.id, devices.c.user_id, devices.c.app_id).join(
                    users, users.c.id == devices.c.user_id
                )
            )
        ).all()
    size = 500
    claimed = [
        ClaimedDelivery(
            id=n,
            notification_id=accepted["id"],
            app_id=row.app_id,
            device_id=row.id,
            user_id=row.user_id,
            channel="apns",
            attempts=0,
            replays=0,
            accepted_at=0.0,
            token="t",
            subscription=None,
            device_active=True,
            timezone=None,
        )
        for n, row in enumerate(rows[: batches * size])
    ]
    renderer = services.engine.renderer
    began = time.process_time()
    for start in range(0, len(claimed), size):
        await renderer.personalise(claimed[start : start + size], {accepted["id"]: spec})
    return (time.process_time() - began) / len(claimed) * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="pushwise-bench-personal-")
    sim = start_apns_simulator(tls=True, seed=2, workdir=workdir, engine="granian")
    url = f"sqlite:///{workdir}/bench.db"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        admin_key=ADMIN_KEY,
        secret_key="bench-personal-secret-0123456789abcdef",
        allow_private_endpoints=True,
        log_level="warning",
    )
    services = build_services(settings, rng=random.Random(1))
    rates: dict[str, list[float]] = {"personal": [], "plain": []}
    costs: dict[str, list[float]] = {"personal": [], "plain": []}
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=300) as http:
            _app_id, headers = await populate(http, sim, args.users)
            await personalise_app(http, headers, args.users)
            await one_round(services, services.engine.worker(), http, headers, PLAIN)  # warm-up
            bodies = {"personal": PERSONAL, "plain": PLAIN}
            for number in range(args.rounds):
                order = list(bodies) if number % 2 == 0 else list(reversed(bodies))
                for name in order:
                    sim.reset()
                    rate, cost = await one_round(
                        services, services.engine.worker(), http, headers, bodies[name]
                    )
                    rates[name].append(rate)
                    costs[name].append(cost)
            alone = await renderer_alone(services, http, headers)
        sim.reset()
        ceiling = await measure_pyreqwest_raw(sim, 20_000, 200)
    finally:
        await services.close()
        sim.stop()
    personal, plain = statistics.median(rates["personal"]), statistics.median(rates["plain"])
    print(f"\nPersonal content, end to end (SQLite, {args.users} users, {args.rounds} rounds, ABBA order)")
    print(f"{'what':36} {'deliveries/s':>13} {'CPU µs/delivery':>16}  rounds")
    print(f"{'raw ceiling (pyreqwest, APNs sim)':36} {ceiling:13.0f}")
    for name in ("plain", "personal"):
        shown = ", ".join(f"{r:.0f}" for r in rates[name])
        rate, cost = statistics.median(rates[name]), statistics.median(costs[name])
        print(f"{name:36} {rate:13.0f} {cost:16.0f}  {shown}")
    paired = [a / b for a, b in zip(rates["personal"], rates["plain"], strict=True)]
    print(
        f"\npersonal / plain: of the medians {personal / plain:.3f}; median of the rounds' ratios "
        f"{statistics.median(paired):.3f} ({', '.join(f'{r:.3f}' for r in paired)})"
    )
    print(f"the renderer alone (template, pick, A/B), batches of 500: {alone:.1f} CPU µs per delivery")


if __name__ == "__main__":
    asyncio.run(main())
