"""The Python client against the real server on loopback: the sync client (run in a thread, the
server shares the test's event loop) and the async client, answers typed, errors with their codes,
idempotent sends, pages, another tenant's data out of reach, and a retried 429."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from pushwise.api.app import create_app
from pushwise.bootstrap import Services
from pushwise.client import AsyncClient, Client, PushwiseError
from pushwise.client.models import AcceptedOut, DeviceOut
from pushwise.domain.clock import ManualClock

from .conftest import ADMIN_KEY, TenantApp, serve_app

pytestmark = pytest.mark.integration
MakeApp = Callable[..., Awaitable[TenantApp]]


def token(number: int) -> str:
    return f"{number:064x}"


def sync_flow(base_url: str, shop: TenantApp) -> dict[str, Any]:
    with Client(base_url, shop.server_key) as pushwise:
        device = pushwise.register_device(platform="ios", token=token(1), user_id="u1", locale="en-GB")
        again = pushwise.register_device(platform="ios", token=token(1), user_id="u1")
        user = pushwise.put_user("u1", timezone="Europe/Paris", tags=["vip"])
        sent = pushwise.send_notification(
            to={"user_ids": ["u1"]},
            content={"title": "Shipped", "body": "On its way"},
            idempotency_key="o-42",
        )
        replayed = pushwise.send_notification(
            to={"user_ids": ["u1"]},
            content={"title": "Shipped", "body": "On its way"},
            idempotency_key="o-42",
        )
        with pytest.raises(PushwiseError) as conflict:
            pushwise.send_notification(
                to={"user_ids": ["u1"]}, content={"title": "Other"}, idempotency_key="o-42"
            )
        with pytest.raises(PushwiseError) as unknown:
            pushwise.send_notification(to={"device_ids": ["dev_nope"]}, content={"title": "x"})
        status = pushwise.get_notification(sent.id)
        deliveries = list(pushwise.iter_deliveries(sent.id))
        profile = pushwise.get_user("u1")
        return {
            "device": device,
            "again": again,
            "user": user,
            "sent": sent,
            "replayed": replayed,
            "conflict": conflict.value,
            "unknown": unknown.value,
            "status": status,
            "deliveries": deliveries,
            "profile": profile,
        }


async def test_the_sync_client_registers_sends_and_reads_typed_answers(
    server: str, make_app: MakeApp
) -> None:
    shop = await make_app("shop")
    seen = await asyncio.to_thread(sync_flow, server, shop)
    assert isinstance(seen["device"], DeviceOut)
    assert seen["device"].active
    assert seen["again"].id == seen["device"].id
    assert seen["user"].tags == ["vip"]
    assert isinstance(seen["sent"], AcceptedOut)
    assert seen["sent"].recipients == 1
    assert seen["replayed"].id == seen["sent"].id
    assert (seen["conflict"].status, seen["conflict"].code) == (409, "idempotency_conflict")
    assert (seen["unknown"].status, seen["unknown"].code, seen["unknown"].field) == (
        422,
        "unknown_device",
        "to.device_ids",
    )
    assert seen["status"].counts["queued"] == 1
    assert [d.device_id for d in seen["deliveries"]] == [seen["device"].id]
    assert [d.id for d in seen["profile"].devices] == [seen["device"].id]


async def test_the_async_client_pages_through_every_delivery(server: str, make_app: MakeApp) -> None:
    shop = await make_app("shop")
    async with AsyncClient(server, shop.server_key) as pushwise:
        batch = await pushwise.register_devices(
            devices=[
                {"platform": "android", "token": f"fcm-token-{n:032d}", "user_id": "u7"} for n in range(5)
            ]
        )
        sent = await pushwise.send_notification(to={"user_ids": ["u7"]}, content={"body": "Sale"})
        seen = [d.device_id async for d in pushwise.iter_deliveries(sent.id, limit=2)]
        page = await pushwise.list_deliveries(sent.id, limit=2)
    assert batch.created == 5
    assert sorted(seen) == sorted(item.id for item in batch.items)
    assert len(page.items) == 2
    assert page.next_cursor is not None


async def test_another_apps_key_gets_not_found_and_a_bad_key_unauthorized(
    server: str, make_app: MakeApp
) -> None:
    shop, rival = await make_app("shop"), await make_app("rival")
    async with AsyncClient(server, shop.server_key) as pushwise:
        device = await pushwise.register_device(platform="ios", token=token(2))
        sent = await pushwise.send_notification(to={"device_ids": [device.id]}, content={"title": "Mine"})
    async with AsyncClient(server, rival.server_key) as intruder:
        for read in (intruder.get_device(device.id), intruder.get_notification(sent.id)):
            with pytest.raises(PushwiseError) as refused:
                await read
            assert (refused.value.status, refused.value.code) == (404, "not_found")
    async with AsyncClient(server, "pw_srv_not-a-key") as stranger:
        with pytest.raises(PushwiseError) as refused:
            await stranger.get_device(device.id)
    assert refused.value.status == 401


async def test_the_admin_client_creates_apps_and_their_keys_work(server: str) -> None:
    async with AsyncClient(server, ADMIN_KEY) as admin:
        created = await admin.create_app(name="kiosk")
        listed = await admin.list_apps()
    assert created.id in [app.id for app in listed.items]
    async with AsyncClient(server, created.server_key) as pushwise:
        assert (await pushwise.get_app(created.id)).name == "kiosk"


def refuse_first_sends(app: ASGIApp, times: int, retry_after: str, keys: list[str]) -> ASGIApp:
    """The real app behind a limiter that answers the first `times` sends 429 with Retry-After,
    noting the Idempotency-Key of every send it sees."""
    refused = 0

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal refused
        is_send = (
            scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/v1/notifications"
        )
        if is_send:
            keys.append(dict(scope["headers"])[b"idempotency-key"].decode())
        if not is_send or refused >= times:
            await app(scope, receive, send)
            return
        refused += 1
        body = b'{"error": {"code": "rate_limited", "message": "slow down"}}'
        headers = [(b"content-type", b"application/json"), (b"retry-after", retry_after.encode())]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return limited


async def test_a_rate_limited_send_is_sent_again_after_retry_after_and_accepted_once(
    services: Services, make_app: MakeApp
) -> None:
    shop = await make_app("shop")
    waits: list[float] = []
    clock = ManualClock()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    keys: list[str] = []
    limited = refuse_first_sends(create_app(services), times=2, retry_after="3", keys=keys)
    async with (
        serve_app(limited) as base_url,
        AsyncClient(base_url, shop.server_key, clock=clock, sleep=sleep, rng=random.Random(3)) as pushwise,
    ):
        await pushwise.register_device(platform="ios", token=token(3), user_id="u3")
        sent = await pushwise.send_notification(to={"user_ids": ["u3"]}, content={"title": "Once"})
        status = await pushwise.get_notification(sent.id)
    assert len(waits) == 2
    assert all(wait >= 3 for wait in waits)
    assert status.recipients == 1
    assert len(keys) == 3
    assert len(set(keys)) == 1
