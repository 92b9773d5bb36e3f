"""Learn mode through the engine: Thompson sampling moves a notification's sends to the variant its
users open, from the opens posted between the worker's batches (seeded, on the injected clock)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import select

from pushwise.delivery.choices import RESULTS_SECONDS
from pushwise.delivery.worker import WorkerOptions
from pushwise.store.schema import deliveries, users

pytestmark = pytest.mark.integration

OPEN_RATES = {"a": 0.05, "b": 0.10, "c": 0.50}  # the synthetic population: "c" is the best
TEMPLATE = {
    "locales": {"en": {"title": "Hello"}},
    "variants": [{"key": key, "locales": {"en": {"title": f"Hello {key}"}}} for key in OPEN_RATES],
}


async def test_learn_mode_sends_most_of_a_notification_to_the_variant_users_open(
    client, make_app, services, clock
):
    shop = await make_app()
    people = [f"u{n:03d}" for n in range(300)]
    for user in people:
        await client.put(f"/v1/users/{user}", json={}, headers=shop.server_headers)
    await client.put("/v1/templates/hello", json=TEMPLATE, headers=shop.server_headers)
    body = {
        "to": {"user_ids": people},
        "template": "hello",
        "variants": {"mode": "learn", "goal": "opened"},
        "fallback": {"channels": ["inbox"]},
    }
    sent = await client.post("/v1/notifications", json=body, headers=shop.server_headers)
    assert sent.status_code == 202, sent.text
    notification = sent.json()["id"]

    population = random.Random(11)
    worker = services.engine.worker(options=WorkerOptions(batch_size=15))
    order: list[str] = []  # the variant of each delivered push, in the order they were sent
    shown: dict[str, str] = {}
    seen = 0
    while await worker.run_once():
        async with services.db.read.connect() as conn:
            names = dict((await conn.execute(select(users.c.id, users.c.external_id))).all())
            batch = (
                await conn.execute(
                    select(deliveries.c.id, deliveries.c.user_id, deliveries.c.variant)
                    .where(deliveries.c.state == "delivered", deliveries.c.id > seen)
                    .order_by(deliveries.c.id)
                )
            ).all()
        opens = []
        for row in batch:
            seen = max(seen, row.id)
            order.append(row.variant)
            shown[names[row.user_id]] = row.variant
            if population.random() < OPEN_RATES[row.variant]:
                opens.append(
                    {
                        "id": f"open-{row.id}",
                        "type": "opened",
                        "user_id": names[row.user_id],
                        "notification_id": notification,
                        "delivery_id": row.id,
                    }
                )
        if opens:
            answer = await client.post("/v1/events", json={"events": opens}, headers=shop.server_headers)
            assert answer.status_code == 200, answer.text
        clock.advance(RESULTS_SECONDS + 1)  # the engine re-reads the results after this long

    assert len(order) == len(people)
    assert set(order) == set(OPEN_RATES)  # every variant was tried
    late = Counter(order[len(order) // 2 :])
    assert late["c"] / sum(late.values()) > 0.7
    assert Counter(order)["c"] > Counter(order)["b"] > 0
    for user in people[:: len(people) // 5]:  # what the delivery records is what the user got
        inbox = (await client.get(f"/v1/users/{user}/inbox", headers=shop.server_headers)).json()["items"]
        assert [item["title"] for item in inbox] == [f"Hello {shown[user]}"]
