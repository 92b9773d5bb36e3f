"""User profiles: upsert, partial update, read with devices, erase."""

from __future__ import annotations

import pytest

from tests.integration.user_tokens import as_user

pytestmark = pytest.mark.integration

PROFILE = {
    "email": "li.wei@example.cn",
    "phone": "+86 138 0000 0000",
    "timezone": "Asia/Shanghai",
    "locale": "zh_CN",
    "attributes": {"plan": "gold", "visits": 3},
    "tags": ["vip", "beta", "vip"],
}


async def test_put_creates_then_updates_only_the_given_fields(client, make_app, clock) -> None:
    shop = await make_app()
    created = await client.put("/v1/users/u-1", json=PROFILE, headers=shop.server_headers)
    assert created.status_code == 201
    user = created.json()
    assert user["external_id"] == "u-1"
    assert (user["phone"], user["locale"], user["tags"]) == ("+8613800000000", "zh-CN", ["vip", "beta"])
    assert user["attributes"] == {"plan": "gold", "visits": 3}

    clock.advance(60)
    updated = await client.put(
        "/v1/users/u-1", json={"locale": "en", "email": None}, headers=shop.server_headers
    )
    assert updated.status_code == 200
    after = updated.json()
    assert (after["id"], after["locale"], after["email"]) == (user["id"], "en", None)
    assert (after["timezone"], after["tags"]) == ("Asia/Shanghai", ["vip", "beta"])
    assert after["updated_at"] > after["created_at"] == user["created_at"]


async def test_location_is_kept_normalised_and_cleared_with_null(client, make_app) -> None:
    shop = await make_app()
    location = {"country": "cn", "region": "Zhejiang", "city": "Hangzhou", "lat": 30.27, "lon": 120.15}
    body = {"location": location, "email_verified": True}
    user = (await client.put("/v1/users/u-1", json=body, headers=shop.server_headers)).json()
    assert user["location"] == {**location, "country": "CN"}
    assert user["email_verified"] is True
    assert user["first_seen_at"] == user["created_at"]

    kept = (await client.put("/v1/users/u-1", json={"locale": "zh"}, headers=shop.server_headers)).json()
    assert (kept["location"]["city"], kept["email_verified"]) == ("Hangzhou", True)
    cleared = (await client.put("/v1/users/u-1", json={"location": None}, headers=shop.server_headers)).json()
    assert set(cleared["location"].values()) == {None}


async def test_get_returns_profile_devices_preferences_and_engagement(client, make_app) -> None:
    shop = await make_app()
    await client.put("/v1/users/u-1", json=PROFILE, headers=shop.server_headers)
    device = (
        await client.post(
            "/v1/devices",
            json={"platform": "ios", "token": "ab" * 32, "user_id": "u-1"},
            headers=await as_user(client, shop, "u-1"),
        )
    ).json()
    profile = (await client.get("/v1/users/u-1", headers=shop.server_headers)).json()
    assert profile["email"] == "li.wei@example.cn"
    assert [d["id"] for d in profile["devices"]] == [device["id"]]
    assert profile["devices"][0]["user_id"] == "u-1"
    assert profile["engagement"]["all"]["opened"] == 0
    assert profile["engagement"]["open_propensity"] == 0.1  # the prior, before any evidence
    assert profile["interests"] == {}
    assert profile["reachability"]["active_devices"] == {"ios": 1}
    assert profile["reachability"]["push_permission"] == "granted"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"locale": "!!"}, "locale"),
        ({"phone": "12345"}, "phone"),
        ({"email": "nobody"}, "email"),
        ({"tags": [""]}, "tags[0]"),
        ({"attributes": [1, 2]}, "attributes"),
        ({"nickname": "x"}, "nickname"),
        ({"location": {"country": "XX"}}, "location.country"),
        ({"location": {"lat": 91}}, "location.lat"),
        ({"location": {"planet": "Mars"}}, "location.planet"),
    ],
)
async def test_invalid_profile_fields_are_422_with_the_field(client, make_app, body, field) -> None:
    shop = await make_app()
    response = await client.put("/v1/users/u-1", json=body, headers=shop.server_headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", field)
    assert error["details"][0]["field"] == field


async def test_users_need_the_server_key(client, make_app, admin_headers) -> None:
    shop = await make_app()
    for headers in (shop.client_headers, admin_headers):
        response = await client.put("/v1/users/u-1", json={}, headers=headers)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden_scope"


async def test_delete_erases_the_user_and_their_devices(client, make_app) -> None:
    shop = await make_app()
    device = (
        await client.post(
            "/v1/devices",
            json={"platform": "ios", "token": "cd" * 32, "user_id": "u-1"},
            headers=await as_user(client, shop, "u-1"),
        )
    ).json()
    assert (await client.delete("/v1/users/u-1", headers=shop.server_headers)).status_code == 204
    assert (await client.get("/v1/users/u-1", headers=shop.server_headers)).status_code == 404
    assert (await client.get(f"/v1/devices/{device['id']}", headers=shop.server_headers)).status_code == 404
    assert (await client.delete("/v1/users/u-1", headers=shop.server_headers)).status_code == 404
