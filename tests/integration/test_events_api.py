"""`POST /v1/events` through the real API: stored once, learned in any order, all-or-nothing, tenant-safe."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from pushwise.store.schema import user_events
from tests.integration.user_tokens import as_user

pytestmark = pytest.mark.integration

DAY = 86_400.0


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


async def stored_events(services: Any) -> int:
    async with services.db.read.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(user_events)))


async def post(client, app, events: list[dict[str, Any]], headers=None):
    return await client.post("/v1/events", json={"events": events}, headers=headers or app.server_headers)


def history(t0: float) -> list[dict[str, Any]]:
    return [
        {"id": "e1", "type": "item_viewed", "user_id": "u1", "at": iso(t0 - 3 * DAY), "category": "shoes"},
        {"id": "e2", "type": "added_to_cart", "user_id": "u1", "at": iso(t0 - 2 * DAY), "category": "shoes"},
        {
            "id": "e3",
            "type": "purchased",
            "user_id": "u1",
            "at": iso(t0 - DAY),
            "category": "shoes",
            "value": 59,
        },
        {"id": "e4", "type": "item_viewed", "user_id": "u1", "at": iso(t0 - 6 * DAY), "category": "books"},
        {"id": "e5", "type": "app_open", "user_id": "u1", "at": iso(t0 - 3600)},
        {
            "id": "e6",
            "type": "custom:wishlist",
            "user_id": "u1",
            "at": iso(t0 - 10),
            "properties": {"sku": "A1"},
        },
    ]


async def test_events_teach_interests_and_activity_and_repeats_count_once(client, make_app, clock, services):
    shop = await make_app()
    t0 = clock.now()
    first = await post(client, shop, history(t0))
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 6, "duplicates": 0, "late": 0}
    again = await post(client, shop, [*history(t0), history(t0)[0]])  # a resent batch, one repeated inside
    assert again.json() == {"accepted": 0, "duplicates": 7, "late": 0}
    assert await stored_events(services) == 6

    profile = (await client.get("/v1/users/u1", headers=shop.server_headers)).json()
    assert list(profile["interests"]) == ["shoes", "books"]
    assert 0.6 < profile["interests"]["shoes"] < 1.0
    assert 0 < profile["interests"]["books"] < 0.2
    assert profile["last_active_at"] == iso(t0 - 10).replace("+00:00", "Z")
    assert profile["first_seen_at"] == iso(t0 - 6 * DAY).replace("+00:00", "Z")


async def test_order_of_arrival_does_not_change_the_profile(client, make_app, clock):
    t0 = clock.now()
    in_order, shuffled = await make_app("in-order"), await make_app("shuffled")
    events = history(t0)
    await post(client, in_order, events)
    for event in reversed(events):  # one at a time, newest first
        assert (await post(client, shuffled, [event])).json()["accepted"] == 1
    clock.advance(5 * DAY)
    a = (await client.get("/v1/users/u1", headers=in_order.server_headers)).json()
    b = (await client.get("/v1/users/u1", headers=shuffled.server_headers)).json()
    assert a["interests"] == pytest.approx(b["interests"], rel=1e-9)
    assert (a["engagement"], a["last_active_at"]) == (b["engagement"], b["last_active_at"])


async def test_interests_decay_with_the_half_life(client, make_app, clock):
    shop = await make_app()
    await post(client, shop, [{"id": "v", "type": "purchased", "user_id": "u1", "category": "tea"}])
    before = (await client.get("/v1/users/u1", headers=shop.server_headers)).json()["interests"]["tea"]
    clock.advance(14 * DAY)  # the default half-life
    after = (await client.get("/v1/users/u1", headers=shop.server_headers)).json()["interests"]["tea"]
    # affinity(w) = 1 - 2^(-w/4): a purchase (5) is 1 - 2^-1.25, half of it 1 - 2^-0.625
    assert before == pytest.approx(1 - 2**-1.25)
    assert after == pytest.approx(1 - 2**-0.625)


async def test_late_events_are_counted_not_stored_and_future_ones_refused(client, make_app, clock, services):
    shop = await make_app()
    t0 = clock.now()
    late = {"id": "old", "type": "app_open", "user_id": "u1", "at": iso(t0 - 8 * DAY)}
    fresh = {"id": "new", "type": "app_open", "user_id": "u1", "at": iso(t0 - 6 * DAY)}
    assert (await post(client, shop, [late, fresh])).json() == {"accepted": 1, "duplicates": 0, "late": 1}
    future = {"id": "f", "type": "app_open", "user_id": "u1", "at": iso(t0 + 3600)}
    refused = await post(client, shop, [fresh, future])
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "events[1].at"
    assert await stored_events(services) == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"type": "bought"}, "events[1].type"),
        ({"type": "custom:"}, "events[1].type"),
        ({"at": "2026-12-06T09:00:00"}, "events[1].at"),  # no offset: ambiguous
        ({"currency": "eur"}, "events[1].currency"),
        ({"value": "lots"}, "events[1].value"),
        ({"delivery_id": 0}, "events[1].delivery_id"),
        ({"colour": "red"}, "events[1].colour"),
        ({"id": ""}, "events[1].id"),
    ],
)
async def test_one_bad_event_refuses_the_batch_with_its_index(client, make_app, services, bad, field):
    shop = await make_app()
    good = {"id": "ok", "type": "app_open", "user_id": "u1"}
    response = await post(client, shop, [good, {"id": "x", "type": "opened", "user_id": "u1", **bad}])
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert await stored_events(services) == 0


async def test_batches_are_limited_to_a_thousand(client, make_app):
    shop = await make_app()
    events = [{"id": f"e{i}", "type": "app_open", "user_id": "u1"} for i in range(1001)]
    response = await post(client, shop, events)
    assert (response.status_code, response.json()["error"]["field"]) == (422, "events")


async def test_references_must_be_the_apps_own(client, make_app, services):
    shop, other = await make_app("shop"), await make_app("other")
    await client.put("/v1/users/u1", json={}, headers=other.server_headers)
    theirs = (
        await client.post(
            "/v1/notifications",
            json={"to": {"user_ids": ["u1"]}, "content": {"title": "hi"}},
            headers=other.server_headers,
        )
    ).json()["id"]
    good = {"id": "ok", "type": "app_open", "user_id": "u1"}
    for bad, field, code in [
        ({"notification_id": theirs}, "events[1].notification_id", "unknown_notification"),
        ({"delivery_id": 999_999}, "events[1].delivery_id", "unknown_delivery"),
    ]:
        response = await post(client, shop, [good, {"id": "x", "type": "opened", "user_id": "u1", **bad}])
        assert response.status_code == 422
        assert (response.json()["error"]["field"], response.json()["error"]["code"]) == (field, code)
    assert await stored_events(services) == 0


async def test_client_key_posts_only_its_own_users_events(client, make_app):
    shop = await make_app()
    own = {"id": "a", "type": "app_open", "user_id": "u1"}
    mine = await as_user(client, shop, "u1")
    assert (await post(client, shop, [own], headers=mine)).json()["accepted"] == 1
    someone_else = await post(client, shop, [own, {**own, "id": "b", "user_id": "u2"}], headers=mine)
    assert someone_else.status_code == 403
    assert someone_else.json()["error"]["field"] == "events[1].user_id"
    no_token = await post(client, shop, [own], headers=shop.client_headers)
    assert no_token.json()["error"]["code"] == "user_token_required"
    other = await make_app("other")
    foreign = await post(
        client,
        other,
        [own],
        headers={**other.client_headers, **{"X-Pushwise-User-Token": mine["X-Pushwise-User-Token"]}},
    )
    assert foreign.json()["error"]["code"] == "forbidden_user_token"


async def test_engagement_windows_and_feedback_per_notification(client, make_app, clock):
    shop = await make_app()
    await client.put("/v1/users/u1", json={}, headers=shop.server_headers)
    sent = await client.post(
        "/v1/notifications",
        json={"to": {"user_ids": ["u1"]}, "content": {"title": "Sale"}, "category": "promotions"},
        headers=shop.server_headers,
    )
    notification = sent.json()["id"]
    first = {"id": "o1", "type": "opened", "user_id": "u1", "notification_id": notification}
    assert (await post(client, shop, [first])).json()["accepted"] == 1
    clock.advance(10 * DAY)  # the first open leaves the 7-day window, stays in the 30-day one
    events = [
        {**first, "id": "o2"},
        {**first, "id": "c1", "type": "converted", "value": 30.5},
        {**first, "id": "n1", "type": "not_interested"},
    ]
    assert (await post(client, shop, events)).json()["accepted"] == 3
    profile = (await client.get("/v1/users/u1", headers=shop.server_headers)).json()
    engagement = profile["engagement"]
    assert (engagement["7d"]["opened"], engagement["30d"]["opened"], engagement["all"]["opened"]) == (1, 2, 2)
    assert (engagement["all"]["converted"], engagement["all"]["revenue"]) == (1, 30.5)
    assert engagement["open_propensity"] > 0.1  # two opens, no push it knows of: above the prior
    # The notification's category teaches interest: opens (+1 each, the first 10 days old), the
    # conversion (+5), and "not interested" takes a purchase's worth away (-5).
    raw = 2 ** (-10 / 14) + 1 + 5 - 5
    assert profile["interests"]["promotions"] == pytest.approx(1 - 2 ** (-raw / 4))
    status = (await client.get(f"/v1/notifications/{notification}", headers=shop.server_headers)).json()
    assert status["feedback"] == {"opened": 2, "not_interested": 1}  # converted is revenue, not feedback


async def test_concurrent_resends_store_each_event_once(client, make_app, services):
    shop = await make_app()
    events = [
        {"id": f"e{i}", "type": "item_viewed", "user_id": f"u{i % 7}", "category": "c"} for i in range(300)
    ]
    answers = await asyncio.gather(*(post(client, shop, events) for _ in range(4)))
    assert sum(a.json()["accepted"] for a in answers) == 300
    assert await stored_events(services) == 300
