"""Device registration: idempotent upserts, reactivation, concurrency, batches, removal."""

from __future__ import annotations

import asyncio
import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select, update

from pushwise.store.schema import devices, users
from tests.integration.user_tokens import as_user

pytestmark = pytest.mark.integration

IOS_TOKEN = "0f" * 32


def web_subscription(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc") -> dict[str, object]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    return {
        "endpoint": endpoint,
        "keys": {"p256dh": b64(point), "auth": b64(bytes(range(16)))},
        "expirationTime": None,
    }


async def device_count(services) -> int:
    async with services.db.read.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(devices)))


async def test_registering_again_updates_the_same_device(client, make_app, clock, services) -> None:
    shop = await make_app()
    body = {
        "platform": "ios",
        "token": IOS_TOKEN,
        "user_id": "u-1",
        "timezone": "Europe/Berlin",
        "locale": "de",
    }
    first = await client.post("/v1/devices", json=body, headers=await as_user(client, shop, "u-1"))
    assert first.status_code == 201
    device = first.json()
    assert device["active"] is True
    assert (device["platform"], device["token"], device["user_id"]) == ("ios", IOS_TOKEN, "u-1")
    assert (device["deactivated_reason"], device["deactivated_at"]) == (None, None)

    clock.advance(3600)
    again = await client.post(
        "/v1/devices", json={"platform": "ios", "token": IOS_TOKEN.upper()}, headers=shop.server_headers
    )
    assert again.status_code == 200
    same = again.json()
    assert same["id"] == device["id"]
    assert same["last_seen_at"] > device["last_seen_at"]
    assert (same["user_id"], same["timezone"], same["locale"]) == ("u-1", "Europe/Berlin", "de")
    assert await device_count(services) == 1


async def test_an_unknown_user_is_created_with_the_device_time_zone(client, make_app) -> None:
    shop = await make_app()
    body = {
        "platform": "android",
        "token": "fcm:" + "A" * 60,
        "user_id": "new-user",
        "timezone": "Asia/Tokyo",
    }
    headers = await as_user(client, shop, "new-user")
    assert (await client.post("/v1/devices", json=body, headers=headers)).status_code == 201
    user = (await client.get("/v1/users/new-user", headers=shop.server_headers)).json()
    assert user["timezone"] == "Asia/Tokyo"
    assert len(user["devices"]) == 1


async def test_registering_a_dead_device_reactivates_it(client, make_app, services, clock) -> None:
    shop = await make_app()
    device = (
        await client.post(
            "/v1/devices", json={"platform": "ios", "token": IOS_TOKEN}, headers=shop.client_headers
        )
    ).json()
    async with services.db.write.begin() as connection:
        await connection.execute(
            update(devices).values(
                active=False, deactivated_reason="Unregistered", deactivated_at=clock.now()
            )
        )
    dead = (await client.get(f"/v1/devices/{device['id']}", headers=shop.server_headers)).json()
    assert (dead["active"], dead["deactivated_reason"]) == (False, "Unregistered")
    assert dead["deactivated_at"] is not None

    revived = await client.post(
        "/v1/devices", json={"platform": "ios", "token": IOS_TOKEN}, headers=shop.client_headers
    )
    assert revived.status_code == 200
    assert (
        revived.json()["active"],
        revived.json()["deactivated_reason"],
        revived.json()["deactivated_at"],
    ) == (
        True,
        None,
        None,
    )


async def test_concurrent_registrations_of_one_token_make_one_device(client, make_app, services) -> None:
    shop = await make_app()
    body = {"platform": "ios", "token": IOS_TOKEN, "user_id": "u-1"}
    headers = await as_user(client, shop, "u-1")
    answers = await asyncio.gather(
        *(client.post("/v1/devices", json=body, headers=headers) for _ in range(20))
    )
    assert sorted(a.status_code for a in answers) == [200] * 19 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await device_count(services) == 1
    async with services.db.read.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(users)) == 1


async def test_web_devices_use_the_subscription_endpoint_as_token(client, make_app, services) -> None:
    shop = await make_app()
    subscription = web_subscription()
    response = await client.post(
        "/v1/devices", json={"platform": "web", "subscription": subscription}, headers=shop.client_headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["token"] == subscription["endpoint"]
    async with services.db.read.connect() as connection:
        stored = await connection.scalar(select(devices.c.subscription))
    assert stored == {"endpoint": subscription["endpoint"], "keys": subscription["keys"]}


async def test_non_web_devices_store_no_subscription(client, make_app, services) -> None:
    shop = await make_app()
    await client.post(
        "/v1/devices", json={"platform": "ios", "token": IOS_TOKEN}, headers=shop.client_headers
    )
    async with services.db.read.connect() as connection:
        assert await connection.scalar(select(func.count()).where(devices.c.subscription.is_(None))) == 1


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"platform": "ios", "token": "xyz"}, "invalid_token", "token"),
        ({"platform": "ios"}, "invalid_token", "token"),
        (
            {"platform": "android", "token": "bad token with spaces and more than 32 chars"},
            "invalid_token",
            "token",
        ),
        ({"platform": "web"}, "invalid_subscription", "subscription"),
        ({"platform": "blackberry", "token": IOS_TOKEN}, "validation_error", "platform"),
        ({"platform": "ios", "token": IOS_TOKEN, "timezone": "Nowhere/Land"}, "validation_error", "timezone"),
        (
            {"platform": "web", "subscription": {"endpoint": "https://x.example.com/1"}},
            "validation_error",
            "subscription.keys",
        ),
    ],
)
async def test_invalid_registrations_are_refused(client, make_app, body, code, field) -> None:
    shop = await make_app()
    response = await client.post("/v1/devices", json=body, headers=shop.client_headers)
    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)


async def test_batch_registration_creates_and_updates_in_one_call(client, make_app, services) -> None:
    shop = await make_app()
    rows = [{"platform": "ios", "token": f"{n:064x}", "user_id": f"shopper-{n % 50}"} for n in range(300)]
    first = await client.post("/v1/devices:batch", json={"devices": rows}, headers=shop.server_headers)
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["updated"]) == (300, 0)
    assert [item["token"] for item in first.json()["items"]] == [row["token"] for row in rows]

    more = [*rows[:100], {"platform": "android", "token": "t" * 40}]
    second = (
        await client.post("/v1/devices:batch", json={"devices": more}, headers=shop.server_headers)
    ).json()
    assert (second["created"], second["updated"]) == (1, 100)
    assert [i["id"] for i in second["items"][:100]] == [i["id"] for i in first.json()["items"][:100]]
    assert await device_count(services) == 301
    async with services.db.read.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(users)) == 50


async def test_one_bad_device_refuses_the_whole_batch(client, make_app, services) -> None:
    shop = await make_app()
    rows = [{"platform": "ios", "token": IOS_TOKEN}, {"platform": "ios", "token": "nope"}]
    response = await client.post("/v1/devices:batch", json={"devices": rows}, headers=shop.server_headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "devices[1].token"
    assert await device_count(services) == 0
    too_many = {"devices": [{"platform": "ios", "token": IOS_TOKEN}] * 1001}
    refused = await client.post("/v1/devices:batch", json=too_many, headers=shop.server_headers)
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "devices")


async def test_batch_and_reads_need_the_server_key(client, make_app) -> None:
    shop = await make_app()
    device = (
        await client.post(
            "/v1/devices", json={"platform": "ios", "token": IOS_TOKEN}, headers=shop.client_headers
        )
    ).json()
    batch = await client.post(
        "/v1/devices:batch",
        json={"devices": [{"platform": "ios", "token": IOS_TOKEN}]},
        headers=shop.client_headers,
    )
    assert batch.status_code == 403
    assert (await client.get(f"/v1/devices/{device['id']}", headers=shop.client_headers)).status_code == 403


async def test_a_client_key_removes_its_own_apps_device(client, make_app) -> None:
    shop = await make_app()
    device = (
        await client.post(
            "/v1/devices", json={"platform": "ios", "token": IOS_TOKEN}, headers=shop.client_headers
        )
    ).json()
    assert (
        await client.delete(f"/v1/devices/{device['id']}", headers=shop.client_headers)
    ).status_code == 204
    missing = await client.get(f"/v1/devices/{device['id']}", headers=shop.server_headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert (
        await client.delete(f"/v1/devices/{device['id']}", headers=shop.server_headers)
    ).status_code == 404
