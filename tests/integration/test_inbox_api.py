"""The in-app inbox: provider writes, server-key and client-key (user token) API, live SSE stream."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI

from pushwise.api.app import create_app
from pushwise.bootstrap import Services
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.providers.base import Dispatch
from pushwise.providers.inbox import build_inbox_provider
from pushwise.settings import Settings
from pushwise.store.inbox import InboxRepository
from pushwise.store.inbox_feed import InboxFeed
from pushwise.store.users import UserRepository
from tests.integration.conftest import TenantApp, serve_app
from tests.integration.conftest import settings as base_settings
from tests.integration.user_tokens import as_user, user_token

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(base_settings.__wrapped__(tmp_path), inbox_poll_seconds=0.2)


@pytest.fixture
def api_app(services: Services) -> FastAPI:
    return create_app(services)


@pytest.fixture
async def server(api_app: FastAPI) -> AsyncIterator[str]:
    async with serve_app(api_app) as base_url:
        yield base_url


class Inbox:
    """Writes items the way the delivery engine does: through the inbox channel's provider."""

    def __init__(self, services: Services, feed: InboxFeed) -> None:
        self._services = services
        self.provider = build_inbox_provider(InboxRepository(services.db, services.clock), feed)
        self._next_delivery = 1

    async def deliver(self, app: TenantApp, external_id: str, title: str, delivery_id: int | None = None):
        user = await UserRepository(self._services.db, self._services.clock).get(app.id, external_id)
        assert user is not None
        if delivery_id is None:
            delivery_id, self._next_delivery = self._next_delivery, self._next_delivery + 1
        self._services.clock.advance(1)
        spec = NotificationSpec(
            Content(title=title, body=f"{title} body", data={"n": 1}, url="https://x.test/a")
        )
        dispatch = Dispatch(delivery_id, app.id, "ntf_inbox", "inbox", "", spec, None, 1, user_id=user.id)
        return await self.provider.send(dispatch)


@pytest.fixture
def inbox(services: Services, api_app: FastAPI) -> Inbox:
    return Inbox(services, api_app.state.inbox_feed)


async def new_user(client: httpx.AsyncClient, app: TenantApp, external_id: str) -> None:
    response = await client.put(f"/v1/users/{external_id}", json={}, headers=app.server_headers)
    assert response.status_code in (200, 201)


async def test_pages_newest_first_with_cursor_unread_filter_and_count(client, make_app, inbox) -> None:
    shop = await make_app()
    await new_user(client, shop, "ada")
    for n in range(5):
        assert (await inbox.deliver(shop, "ada", f"m{n}")).kind is OutcomeKind.DELIVERED
    url = "/v1/users/ada/inbox"
    first = (await client.get(url, params={"limit": 2}, headers=shop.server_headers)).json()
    assert [i["title"] for i in first["items"]] == ["m4", "m3"]
    assert first["unread_count"] == 5
    assert first["next_cursor"]
    item = first["items"][0]
    assert set(item) == {"id", "notification_id", "title", "body", "data", "url", "read", "created_at"}
    assert (item["notification_id"], item["data"], item["read"]) == ("ntf_inbox", {"n": 1}, False)
    second = (
        await client.get(
            url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=shop.server_headers
        )
    ).json()
    third = (
        await client.get(
            url, params={"limit": 2, "cursor": second["next_cursor"]}, headers=shop.server_headers
        )
    ).json()
    assert [i["title"] for i in second["items"] + third["items"]] == ["m2", "m1", "m0"]
    assert third["next_cursor"] is None

    ids = [i["id"] for i in first["items"] + second["items"]]
    for item_id in ids[:2]:
        read = await client.post(f"{url}/{item_id}/read", headers=shop.server_headers)
        assert read.status_code == 200
        assert read.json()["read"] is True
    unread = (await client.get(url, params={"unread": "true"}, headers=shop.server_headers)).json()
    assert [i["title"] for i in unread["items"]] == ["m2", "m1", "m0"]
    assert unread["unread_count"] == 3
    back = await client.post(f"{url}/{ids[0]}/unread", headers=shop.server_headers)
    assert back.json()["read"] is False
    assert (await client.delete(f"{url}/{ids[1]}", headers=shop.server_headers)).status_code == 204
    assert (await client.delete(f"{url}/{ids[1]}", headers=shop.server_headers)).status_code == 404
    after = (await client.get(url, headers=shop.server_headers)).json()
    assert [i["title"] for i in after["items"]] == ["m4", "m2", "m1", "m0"]
    assert after["unread_count"] == 4
    bad = await client.get(url, params={"cursor": "x"}, headers=shop.server_headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_cursor")


async def test_a_retried_delivery_writes_one_item(client, make_app, inbox) -> None:
    shop = await make_app()
    await new_user(client, shop, "ada")
    first = await inbox.deliver(shop, "ada", "once", delivery_id=77)
    again = await inbox.deliver(shop, "ada", "once", delivery_id=77)
    assert first.kind is again.kind is OutcomeKind.DELIVERED
    page = (await client.get("/v1/users/ada/inbox", headers=shop.server_headers)).json()
    assert len(page["items"]) == 1


async def test_client_key_with_user_token_manages_its_own_inbox(client, make_app, inbox) -> None:
    shop = await make_app()
    await new_user(client, shop, "ada")
    await inbox.deliver(shop, "ada", "hello")
    headers = await as_user(client, shop, "ada")
    page = (await client.get("/v1/inbox", headers=headers)).json()
    assert [i["title"] for i in page["items"]] == ["hello"]
    assert page["unread_count"] == 1
    item_id = page["items"][0]["id"]
    assert (await client.post(f"/v1/inbox/{item_id}/read", headers=headers)).json()["read"] is True
    assert (await client.get("/v1/inbox", headers=headers)).json()["unread_count"] == 0
    assert (await client.post(f"/v1/inbox/{item_id}/unread", headers=headers)).json()["read"] is False
    assert (await client.delete(f"/v1/inbox/{item_id}", headers=headers)).status_code == 204
    assert (await client.get("/v1/inbox", headers=headers)).json()["items"] == []


async def test_user_tokens_bind_app_user_and_time(client, make_app, inbox, clock) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    for name in ("ada", "bob"):
        await new_user(client, shop, name)
    await inbox.deliver(shop, "ada", "for ada")
    ada_item = (await client.get("/v1/users/ada/inbox", headers=shop.server_headers)).json()["items"][0]["id"]

    def code(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    assert code(await client.get("/v1/inbox", headers=shop.client_headers)) == (401, "user_token_required")
    forged = {**shop.client_headers, "X-Pushwise-User-Token": "e30.AAAA"}
    assert code(await client.get("/v1/inbox", headers=forged)) == (401, "invalid_user_token")
    foreign = {**shop.client_headers, "X-Pushwise-User-Token": await user_token(client, other, "ada")}
    assert code(await client.get("/v1/inbox", headers=foreign)) == (403, "forbidden_user_token")
    bob = await as_user(client, shop, "bob")
    assert (await client.post(f"/v1/inbox/{ada_item}/read", headers=bob)).status_code == 404
    assert (await client.delete(f"/v1/inbox/{ada_item}", headers=bob)).status_code == 404
    assert (await client.get("/v1/users/ada/inbox", headers=shop.client_headers)).status_code == 403
    assert (await client.get("/v1/users/ada/inbox", headers=other.server_headers)).status_code == 404
    assert (await client.post("/v1/users/ada/token", headers=shop.client_headers)).status_code == 403

    short = {
        **shop.client_headers,
        "X-Pushwise-User-Token": await user_token(client, shop, "ada", ttl_seconds=60),
    }
    assert (await client.get("/v1/inbox", headers=short)).status_code == 200
    clock.advance(61)
    assert code(await client.get("/v1/inbox", headers=short)) == (401, "user_token_expired")


async def test_device_registration_for_a_user_needs_that_users_token(client, make_app) -> None:
    shop = await make_app()
    body = {"platform": "ios", "token": "ab" * 32, "user_id": "ada"}
    missing = await client.post("/v1/devices", json=body, headers=shop.client_headers)
    assert missing.status_code == 401
    as_bob = await client.post("/v1/devices", json=body, headers=await as_user(client, shop, "bob"))
    assert (as_bob.status_code, as_bob.json()["error"]["code"]) == (403, "forbidden_user_token")
    assert (
        await client.post("/v1/devices", json=body, headers=await as_user(client, shop, "ada"))
    ).status_code == 201
    assert (await client.post("/v1/devices", json=body, headers=shop.server_headers)).status_code == 200
    anonymous = {"platform": "ios", "token": "cd" * 32}
    assert (await client.post("/v1/devices", json=anonymous, headers=shop.client_headers)).status_code == 201


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, dict]]:
    name = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name is not None:
            yield name, orjson.loads(line.removeprefix("data: "))
            name = None


async def test_stream_pushes_new_items_and_unread_counts_live(client, make_app, inbox, services) -> None:
    shop = await make_app()
    await new_user(client, shop, "ada")
    headers = await as_user(client, shop, "ada")
    async with client.stream("GET", "/v1/inbox/stream", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
        next_event = lambda: asyncio.wait_for(anext(events), 10)  # noqa: E731
        assert await next_event() == ("unread_count", {"unread_count": 0})

        await inbox.deliver(shop, "ada", "live")
        name, item = await next_event()
        assert (name, item["title"], item["read"]) == ("item", "live", False)
        assert await next_event() == ("unread_count", {"unread_count": 1})

        assert (await client.post(f"/v1/inbox/{item['id']}/read", headers=headers)).status_code == 200
        assert await next_event() == ("unread_count", {"unread_count": 0})

        # Written by "another process" (no shared feed): the stream's poll picks it up.
        elsewhere = Inbox(services, InboxFeed())
        await elsewhere.deliver(shop, "ada", "from afar", delivery_id=999)
        name, item = await next_event()
        assert (name, item["title"]) == ("item", "from afar")
