"""Personal content end to end: item picks fill templates (in stock, never repeated), variants are
split and recorded on the deliveries, and a user's picks are listed with their scores."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from pushwise.store.schema import deliveries

pytestmark = pytest.mark.integration

DAY = 86_400.0
ARRIVAL = {
    "locales": {"en": {"title": "New: {{ item.title }}", "body": "{{ item.price | money(item.currency) }}"}},
    "variants": [
        {"key": "plain", "locales": {"en": {"title": "New: {{ item.title }}"}}},
        {"key": "urgent", "locales": {"en": {"title": "Only a few left: {{ item.title }}"}}},
    ],
}
ITEMS = [
    {
        "id": "boots",
        "title": "Trail boots",
        "category": "shoes",
        "price": 89.0,
        "currency": "EUR",
        "stock": 4,
    },
    {"id": "sandals", "title": "Sandals", "category": "shoes", "price": 29.0, "currency": "EUR", "stock": 0},
    {
        "id": "sneakers",
        "title": "Sneakers",
        "category": "shoes",
        "price": 59.0,
        "currency": "EUR",
        "stock": 9,
    },
    {"id": "novel", "title": "A novel", "category": "books", "price": 12.0, "currency": "EUR"},
]


async def drain(services) -> None:
    worker = services.engine.worker()
    while await worker.run_once():
        pass


async def shop_with_catalogue(client, make_app, users: list[str]):
    shop = await make_app()
    assert (
        await client.put("/v1/catalog/items", json={"items": ITEMS}, headers=shop.server_headers)
    ).json() == {"upserted": 4}
    await client.put("/v1/templates/arrival", json=ARRIVAL, headers=shop.server_headers)
    events = []
    for user in users:
        await client.put(f"/v1/users/{user}", json={}, headers=shop.server_headers)
        events.append({"id": f"{user}-cart", "type": "added_to_cart", "user_id": user, "category": "shoes"})
    await client.post("/v1/events", json={"events": events}, headers=shop.server_headers)
    return shop


async def titles(client, shop, user: str) -> list[str]:
    items = (await client.get(f"/v1/users/{user}/inbox", headers=shop.server_headers)).json()["items"]
    return [item["title"] for item in items]


async def test_picks_fill_the_template_skip_what_is_out_of_stock_and_never_repeat(client, make_app, services):
    shop = await shop_with_catalogue(client, make_app, ["ana"])
    picks = (await client.get("/v1/users/ana/picks", headers=shop.server_headers)).json()["picks"]
    assert [p["item"]["id"] for p in picks][:2] == ["boots", "sneakers"]  # shoes first; sandals sold out
    assert "sandals" not in {p["item"]["id"] for p in picks}
    assert set(picks[0]["parts"]) == {"interest", "recency", "popularity", "novelty"}

    body = {
        "to": {"user_ids": ["ana"]},
        "template": "arrival",
        "pick": {"strategy": "for_you", "from": {"field": "category", "op": "=", "value": "shoes"}},
        "fallback": {"channels": ["inbox"]},
    }
    for _ in range(3):
        assert (
            await client.post("/v1/notifications", json=body, headers=shop.server_headers)
        ).status_code == 202
        await drain(services)
    received = await titles(client, shop, "ana")
    # Newest first: boots, then sneakers, then nothing left to say about shoes (not repeated).
    assert received == ["New: Sneakers", "New: Trail boots"]
    async with services.db.read.connect() as conn:
        failed = (
            await conn.execute(select(deliveries.c.last_reason).where(deliveries.c.state == "failed"))
        ).all()
    assert [row.last_reason for row in failed] == ["NoItemToPick"]


async def test_ab_variants_are_split_and_recorded(client, make_app, services):
    users = [f"u{n}" for n in range(40)]
    shop = await shop_with_catalogue(client, make_app, users)
    body = {
        "to": {"user_ids": users},
        "template": "arrival",
        "variants": {"mode": "ab"},
        "pick": {"strategy": "for_you"},
        "fallback": {"channels": ["inbox"]},
    }
    sent = await client.post("/v1/notifications", json=body, headers=shop.server_headers)
    assert sent.status_code == 202, sent.text
    await drain(services)
    async with services.db.read.connect() as conn:
        rows = (
            await conn.execute(select(deliveries.c.template, deliveries.c.variant, deliveries.c.item_id))
        ).all()
    variants = Counter(row.variant for row in rows)
    assert set(variants) == {"plain", "urgent"}
    assert min(variants.values()) >= 10
    assert {row.template for row in rows} == {"arrival"}
    assert {row.item_id for row in rows} == {"boots"}
    received = [title for user in users for title in await titles(client, shop, user)]
    shown = Counter(title.split(":")[0] for title in received)
    assert shown == {"New": variants["plain"], "Only a few left": variants["urgent"]}


async def test_variants_need_a_template_that_has_them(client, make_app):
    shop = await make_app()
    await client.put(
        "/v1/templates/plain", json={"locales": {"en": {"title": "x"}}}, headers=shop.server_headers
    )
    await client.put("/v1/users/ana", json={}, headers=shop.server_headers)
    body = {"to": {"user_ids": ["ana"]}, "template": "plain", "variants": {"mode": "learn"}}
    refused = await client.post("/v1/notifications", json=body, headers=shop.server_headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "template_without_variants")
    bad_rule = {**body, "variants": None, "pick": {"from": {"field": "price", "op": "<", "value": "x"}}}
    refused = await client.post("/v1/notifications", json=bad_rule, headers=shop.server_headers)
    assert refused.status_code == 422
    assert "pick.from" in refused.json()["error"]["message"]
