"""`POST /v1/users/batch`: many users at once, all or nothing, validated like `PUT /v1/users/{id}`."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


async def test_batch_creates_and_updates_each_users_own_fields(client, make_app) -> None:
    shop = await make_app()
    await client.put("/v1/users/u-1", json={"locale": "en", "tags": ["vip"]}, headers=shop.server_headers)
    batch = {
        "users": [
            {"external_id": "u-1", "timezone": "Europe/Berlin"},
            {"external_id": "u-2", "attributes": {"age": 31}, "location": {"country": "de"}},
            {"external_id": "u-3"},
            {"external_id": "u-2", "locale": "de"},
        ]
    }
    answer = await client.post("/v1/users/batch", json=batch, headers=shop.server_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"upserted": 3}

    one = (await client.get("/v1/users/u-1", headers=shop.server_headers)).json()
    assert (one["locale"], one["tags"], one["timezone"]) == ("en", ["vip"], "Europe/Berlin")
    two = (await client.get("/v1/users/u-2", headers=shop.server_headers)).json()
    assert (two["attributes"], two["location"]["country"], two["locale"]) == ({"age": 31}, "DE", "de")
    assert (await client.get("/v1/users/u-3", headers=shop.server_headers)).status_code == 200


async def test_one_bad_user_refuses_the_whole_batch_naming_it(client, make_app) -> None:
    shop = await make_app()
    users = [{"external_id": f"u-{i}", "timezone": "Asia/Shanghai"} for i in range(10)]
    users[7]["timezone"] = "Mars/Olympus"
    answer = await client.post("/v1/users/batch", json={"users": users}, headers=shop.server_headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "users[7].timezone"
    assert (await client.get("/v1/users/u-0", headers=shop.server_headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"users": []}, "users"),
        ({"users": [{"timezone": "UTC"}]}, "users[0].external_id"),
        ({"users": [{"external_id": "u", "colour": "red"}]}, "users[0].colour"),
        ({"users": [{"external_id": f"u{i}"} for i in range(1001)]}, "users"),
    ],
)
async def test_malformed_batches_are_refused(client, make_app, body, field) -> None:
    shop = await make_app()
    answer = await client.post("/v1/users/batch", json=body, headers=shop.server_headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == field


async def test_a_batch_writes_only_to_the_callers_app(client, make_app, admin_headers) -> None:
    a, b = await make_app("a"), await make_app("b")
    await client.put("/v1/users/alice", json={"locale": "en"}, headers=a.server_headers)
    body = {"users": [{"external_id": "alice", "locale": "fr"}]}
    assert (await client.post("/v1/users/batch", json=body, headers=b.server_headers)).status_code == 200
    assert (await client.get("/v1/users/alice", headers=a.server_headers)).json()["locale"] == "en"
    assert (await client.get("/v1/users/alice", headers=b.server_headers)).json()["locale"] == "fr"
    for headers in (a.client_headers, admin_headers):
        assert (await client.post("/v1/users/batch", json=body, headers=headers)).status_code == 403
