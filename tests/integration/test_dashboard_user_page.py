"""The dashboard's user page: profile, engagement, interests, preferences, recent deliveries and events."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.integration.conftest import ADMIN_KEY

pytestmark = pytest.mark.integration


async def _login(client: httpx.AsyncClient, key: str) -> None:
    client.cookies.clear()
    response = await client.post("/dashboard/login", data={"key": key})
    assert response.status_code == 303, response.text


def _cell(html: str, table: str) -> str:
    found = re.search(rf'<table id="{table}">(.*?)</table>', html, re.S)
    assert found is not None, table
    return found.group(1)


async def test_the_user_page_shows_what_pushwise_knows_and_why(client, make_app, services) -> None:
    app = await make_app()
    headers = app.server_headers
    await client.put(
        f"/v1/apps/{app.id}/categories",
        json=[{"key": "deals", "name": "Deals"}, {"key": "orders", "name": "Orders", "channels": ["inbox"]}],
        headers=headers,
    )
    await client.put(
        "/v1/users/ann", json={"email": "ann@example.com", "locale": "de", "tags": ["vip"]}, headers=headers
    )
    await client.patch(
        "/v1/users/ann/preferences",
        json={"categories": {"deals": {"inbox": False}}, "unsubscribed": ["email"]},
        headers=headers,
    )
    for category in ("deals", "orders"):
        await client.post(
            "/v1/notifications",
            json={
                "to": {"user_ids": ["ann"]},
                "content": {"title": "t", "body": "b"},
                "category": category,
                "fallback": {"channels": ["inbox"]},
            },
            headers=headers,
        )
    worker = services.engine.worker()
    while await worker.run_once():
        pass
    await client.post(
        "/v1/events",
        json={"events": [{"id": "e1", "type": "item_viewed", "user_id": "ann", "category": "boots"}]},
        headers=headers,
    )

    await _login(client, app.server_key)
    page = await client.get("/dashboard/users", params={"user": "ann"})
    assert page.status_code == 200
    html = page.text
    assert "ann@example.com" in _cell(html, "profile")
    assert "vip" in _cell(html, "profile")
    assert "boots" in _cell(html, "interests")
    preferences = _cell(html, "preferences")
    assert re.search(r"<th>deals</th><td>[^<]*</td><td>[^<]*inbox", preferences)
    assert re.search(r"<th>orders</th><td>inbox</td>", preferences)
    assert 'id="unsubscribed">email<' in html
    deliveries = _cell(html, "deliveries")
    assert "suppressed" in deliveries
    assert "opted_out:deals" in deliveries
    assert "delivered" in deliveries
    assert "item_viewed" in _cell(html, "events")
    assert "script" not in html.lower().replace("<noscript", "")

    missing = await client.get("/dashboard/users", params={"user": "nobody"})
    assert 'id="no-user"' in missing.text


async def test_the_user_page_shows_only_the_sessions_own_app(client, make_app) -> None:
    a, b = await make_app("a"), await make_app("b")
    await client.put("/v1/users/ann", json={"email": "ann-of-a@example.com"}, headers=a.server_headers)
    await _login(client, b.server_key)
    page = await client.get("/dashboard/users", params={"user": "ann", "app": a.id})
    assert 'id="no-user"' in page.text
    assert "ann-of-a@example.com" not in page.text
    await _login(client, ADMIN_KEY)
    page = await client.get("/dashboard/users", params={"user": "ann", "app": a.id})
    assert "ann-of-a@example.com" in page.text
