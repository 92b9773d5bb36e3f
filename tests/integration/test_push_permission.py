"""Notification permission turned off on the device: the device stops being sent to, the user is told
once (through the inbox) when no device reaches them any more, and turning it back on revives it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from pushwise.bootstrap import Services
from pushwise.domain.clock import ManualClock
from pushwise.settings import Settings
from pushwise.store.devices import DeviceRepository
from pushwise.store.schema import devices
from tests.integration.conftest import TenantApp, settings_on_engine
from tests.integration.user_tokens import as_user

pytestmark = pytest.mark.integration

MakeApp = Callable[..., Awaitable[TenantApp]]
TURNED_OFF = "Notifications from shop are turned off"


@pytest.fixture(params=["sqlite", "postgresql"])
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """The conditional upserts and the sweep's query differ per engine: run on both."""
    async with settings_on_engine(request, tmp_path) as built:
        yield built


async def register(
    client: httpx.AsyncClient, app: TenantApp, token: str, user: str | None = "ann", **extra: Any
) -> dict[str, Any]:
    body = {"platform": "ios", "token": token, **({"user_id": user} if user else {}), **extra}
    response = await client.post("/v1/devices", json=body, headers=app.server_headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def report(
    client: httpx.AsyncClient, device_id: str, permission: str, headers: dict[str, str]
) -> httpx.Response:
    return await client.patch(
        f"/v1/devices/{device_id}", json={"push_permission": permission}, headers=headers
    )


async def notices(client: httpx.AsyncClient, services: Services, app: TenantApp, user: str) -> list[str]:
    """Deliver whatever is due, then the failure notices in the user's inbox, by title."""
    worker = services.engine.worker()
    while await worker.run_once():
        pass
    inbox = await client.get(f"/v1/users/{user}/inbox", headers=app.server_headers)
    assert inbox.status_code == 200, inbox.text
    return [i["title"] for i in inbox.json()["items"] if i["data"].get("pushwise") == "failure_notice"]


async def push_devices_planned(client: httpx.AsyncClient, app: TenantApp, user: str) -> list[str]:
    sent = await client.post(
        "/v1/notifications",
        json={"to": {"user_ids": [user]}, "content": {"title": "Sale", "body": "Today only"}},
        headers=app.server_headers,
    )
    assert sent.status_code == 202, sent.text
    listed = await client.get(f"/v1/notifications/{sent.json()['id']}/deliveries", headers=app.server_headers)
    return sorted(d["device_id"] for d in listed.json()["items"] if d["device_id"] is not None)


async def test_the_last_device_turned_off_tells_the_user_once_and_granting_revives_it(
    client: httpx.AsyncClient, make_app: MakeApp, services: Services
) -> None:
    shop = await make_app("shop")
    phone = await register(client, shop, "a1" * 32)
    tablet = await register(client, shop, "b2" * 32)

    # The phone goes quiet, but the tablet still reaches ann: no notice.
    off = await report(client, phone["id"], "denied", shop.server_headers)
    assert off.status_code == 200, off.text
    assert (off.json()["active"], off.json()["deactivated_reason"]) == (False, "PermissionDenied")
    assert off.json()["push_permission"] == "denied"
    assert off.json()["deactivated_at"] is not None
    assert await notices(client, services, shop, "ann") == []
    assert await push_devices_planned(client, shop, "ann") == [tablet["id"]]

    # The tablet too: now nothing reaches ann, and she is told how to turn notifications on.
    assert (await report(client, tablet["id"], "denied", shop.server_headers)).status_code == 200
    assert await notices(client, services, shop, "ann") == [TURNED_OFF]
    shown = await client.get(f"/v1/devices/{tablet['id']}", headers=shop.server_headers)
    assert (shown.json()["active"], shown.json()["push_permission"]) == (False, "denied")

    # Reported again, or another device denied within the period: no second notice.
    assert (await report(client, tablet["id"], "denied", shop.server_headers)).status_code == 200
    watch = await register(client, shop, "c3" * 32)
    assert (await report(client, watch["id"], "denied", shop.server_headers)).status_code == 200
    assert await notices(client, services, shop, "ann") == [TURNED_OFF]

    # Turned back on: the phone is sent to again.
    on = await report(client, phone["id"], "granted", shop.server_headers)
    assert on.status_code == 200, on.text
    body = on.json()
    assert (body["active"], body["deactivated_reason"], body["deactivated_at"]) == (True, None, None)
    assert body["push_permission"] == "granted"
    assert await push_devices_planned(client, shop, "ann") == [phone["id"]]


async def test_a_dead_token_stays_dead_when_permission_is_granted(
    client: httpx.AsyncClient, make_app: MakeApp, services: Services, clock: ManualClock
) -> None:
    shop = await make_app("shop")
    phone = await register(client, shop, "a1" * 32)
    async with services.db.write.begin() as conn:  # what the worker does on a 410 Unregistered
        await conn.execute(
            update(devices)
            .where(devices.c.id == phone["id"])
            .values(active=False, deactivated_reason="Unregistered", deactivated_at=clock.now())
        )

    for permission in ("granted", "denied"):
        answer = await report(client, phone["id"], permission, shop.server_headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["active"], body["deactivated_reason"], body["push_permission"]) == (
            False,
            "Unregistered",
            None,
        )
    # Registering the token again is what revives it, as before.
    again = await register(client, shop, "a1" * 32)
    assert (again["active"], again["deactivated_reason"], again["push_permission"]) == (True, None, "granted")


async def test_registration_carries_the_permission(
    client: httpx.AsyncClient, make_app: MakeApp, services: Services, clock: ManualClock
) -> None:
    shop = await make_app("shop")
    first = await register(client, shop, "a1" * 32, push_permission="denied")
    assert (first["active"], first["deactivated_reason"], first["push_permission"]) == (
        False,
        "PermissionDenied",
        "denied",
    )
    assert await notices(client, services, shop, "ann") == [TURNED_OFF]

    # The SDK reporting `denied` at each launch neither moves the time nor tells ann again.
    clock.advance(60)
    again = await register(client, shop, "a1" * 32, push_permission="denied")
    assert again["deactivated_at"] == first["deactivated_at"]
    granted = await register(client, shop, "a1" * 32, push_permission="granted")
    assert (granted["active"], granted["push_permission"]) == (True, "granted")
    unsaid = await register(client, shop, "b2" * 32, user="bob")  # no permission reported: sent to
    assert unsaid["active"] is True

    batch = await client.post(
        "/v1/devices:batch",
        json={
            "devices": [
                {"platform": "ios", "token": "c3" * 32, "user_id": "cy", "push_permission": "denied"},
                {"platform": "android", "token": "d4" * 32, "user_id": "dee", "push_permission": "granted"},
            ]
        },
        headers=shop.server_headers,
    )
    assert batch.status_code == 200, batch.text
    ids = [item["id"] for item in batch.json()["items"]]
    states = [(await client.get(f"/v1/devices/{i}", headers=shop.server_headers)).json() for i in ids]
    assert [(s["active"], s["push_permission"]) for s in states] == [(False, "denied"), (True, "granted")]
    assert await notices(client, services, shop, "cy") == [TURNED_OFF]
    assert await notices(client, services, shop, "ann") == [TURNED_OFF]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"push_permission": "maybe"}, "push_permission"),
        ({}, "push_permission"),
        ({"push_permission": "denied", "colour": "red"}, "colour"),
    ],
)
async def test_bad_reports_are_refused(
    client: httpx.AsyncClient, make_app: MakeApp, body: dict[str, str], field: str
) -> None:
    shop = await make_app("shop")
    phone = await register(client, shop, "a1" * 32)
    answer = await client.patch(f"/v1/devices/{phone['id']}", json=body, headers=shop.server_headers)
    assert answer.status_code == 422, answer.text
    assert (answer.json()["error"]["code"], answer.json()["error"]["field"]) == ("validation_error", field)
    registering = await client.post(
        "/v1/devices",
        json={"platform": "ios", "token": "b2" * 32, "push_permission": "maybe"},
        headers=shop.server_headers,
    )
    assert registering.status_code == 422
    assert registering.json()["error"]["field"] == "push_permission"


async def test_only_the_devices_own_app_and_user_may_report(
    client: httpx.AsyncClient, make_app: MakeApp
) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    phone = await register(client, shop, "a1" * 32)
    anonymous = await register(client, shop, "b2" * 32, user=None)

    for headers in (other.server_headers, other.client_headers):
        refused = await report(client, phone["id"], "denied", headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, "not_found")
    assert (await report(client, "dev_missing", "denied", shop.server_headers)).status_code == 404

    # A client key acts for the device's user only with that user's token, as at registration.
    assert (await report(client, phone["id"], "denied", shop.client_headers)).status_code == 401
    as_bob = await report(client, phone["id"], "denied", await as_user(client, shop, "bob"))
    assert (as_bob.status_code, as_bob.json()["error"]["code"]) == (403, "forbidden_user_token")
    as_ann = await report(client, phone["id"], "denied", await as_user(client, shop, "ann"))
    assert (as_ann.status_code, as_ann.json()["active"]) == (200, False)
    assert (await report(client, anonymous["id"], "denied", shop.client_headers)).status_code == 200

    shown = await client.get(f"/v1/devices/{phone['id']}", headers=shop.server_headers)
    assert shown.json()["push_permission"] == "denied"


async def test_the_sweep_tells_a_user_whose_notice_a_crash_lost(
    client: httpx.AsyncClient, make_app: MakeApp, services: Services, clock: ManualClock
) -> None:
    shop = await make_app("shop")
    phone = await register(client, shop, "a1" * 32)
    other = await register(client, shop, "b2" * 32, user="bob")
    # The device update committed, then the process died before planning the notice.
    stored = DeviceRepository(services.db, clock)
    assert (await stored.report_permission(shop.id, phone["id"], "denied")).turned_off  # type: ignore[union-attr]
    # Bob was told on the way (through the API): the sweep must not tell him again.
    assert (await report(client, other["id"], "denied", shop.server_headers)).status_code == 200
    sweep = services.engine.follow_ups

    assert (await sweep.run_once()).notices == 0  # within the grace: the API may still be at it
    clock.advance(sweep.options.grace_seconds + 1)
    assert (await sweep.run_once()).notices == 1
    assert await notices(client, services, shop, "ann") == [TURNED_OFF]
    assert await notices(client, services, shop, "bob") == [TURNED_OFF]

    clock.advance(sweep.options.interval_seconds)
    assert (await sweep.run_once()).notices == 0
    assert await notices(client, services, shop, "ann") == [TURNED_OFF]
