"""One app's keys can neither see nor touch another app's objects."""

from __future__ import annotations

import pytest

from tests.integration.user_tokens import as_user

pytestmark = pytest.mark.integration

TOKEN = "ab" * 32


async def test_app_b_cannot_read_or_touch_app_a(client, make_app) -> None:
    a, b = await make_app("a"), await make_app("b")
    await client.put("/v1/users/alice", json={"email": "alice@example.com"}, headers=a.server_headers)
    device = (
        await client.post(
            "/v1/devices",
            json={"platform": "ios", "token": TOKEN, "user_id": "alice"},
            headers=await as_user(client, a, "alice"),
        )
    ).json()

    assert (await client.get(f"/v1/apps/{a.id}", headers=b.server_headers)).status_code == 404
    assert (await client.get("/v1/users/alice", headers=b.server_headers)).status_code == 404
    assert (await client.delete("/v1/users/alice", headers=b.server_headers)).status_code == 404
    assert (await client.get(f"/v1/devices/{device['id']}", headers=b.server_headers)).status_code == 404
    assert (await client.delete(f"/v1/devices/{device['id']}", headers=b.server_headers)).status_code == 404
    assert (await client.delete(f"/v1/devices/{device['id']}", headers=b.client_headers)).status_code == 404

    still = (await client.get("/v1/users/alice", headers=a.server_headers)).json()
    assert still["email"] == "alice@example.com"
    assert [d["id"] for d in still["devices"]] == [device["id"]]


async def test_the_same_ids_and_tokens_in_two_apps_are_separate(client, make_app) -> None:
    a, b = await make_app("a"), await make_app("b")
    user_a = (await client.put("/v1/users/alice", json={"locale": "en"}, headers=a.server_headers)).json()
    user_b = (await client.put("/v1/users/alice", json={"locale": "fr"}, headers=b.server_headers)).json()
    assert user_a["id"] != user_b["id"]
    device_a = await client.post(
        "/v1/devices", json={"platform": "ios", "token": TOKEN}, headers=a.client_headers
    )
    device_b = await client.post(
        "/v1/devices", json={"platform": "ios", "token": TOKEN}, headers=b.client_headers
    )
    assert (device_a.status_code, device_b.status_code) == (201, 201)
    assert device_a.json()["id"] != device_b.json()["id"]
    assert (await client.get("/v1/users/alice", headers=a.server_headers)).json()["locale"] == "en"
