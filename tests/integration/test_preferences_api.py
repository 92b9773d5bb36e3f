"""Categories and preferences over HTTP: shapes, partial changes, refusals, links, tenancy."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pushwise.domain.channels import DELIVERY_CHANNELS

pytestmark = pytest.mark.integration

CATEGORIES = [
    {"key": "promotions", "name": "Promotions", "description": "Sales", "default": True},
    {"key": "orders", "name": "Orders", "default": True, "channels": ["email", "inbox"]},
    {"key": "digest", "name": "Digest", "default": False, "channels": ["email"]},
]


async def test_categories_are_stored_whole_in_the_apps_order(client, make_app) -> None:
    app = await make_app()
    path = f"/v1/apps/{app.id}/categories"
    assert (await client.get(path, headers=app.server_headers)).json() == []
    answer = await client.put(path, json=CATEGORIES, headers=app.server_headers)
    assert answer.status_code == 200, answer.text
    stored = (await client.get(path, headers=app.server_headers)).json()
    assert [c["key"] for c in stored] == ["promotions", "orders", "digest"]
    assert stored[0] == {
        "key": "promotions",
        "name": "Promotions",
        "description": "Sales",
        "default": True,
        "channels": None,
        "vendor_class": "marketing",
        "vendors": {},
        "warnings": [],
        "quiet_hours": "app",
        "quiet_hours_transactional": False,
    }
    assert stored[1]["channels"] == ["email", "inbox"]
    await client.put(path, json=CATEGORIES[2:], headers=app.server_headers)
    assert [c["key"] for c in (await client.get(path, headers=app.server_headers)).json()] == ["digest"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"key": "a b", "name": "x"}], "[0].key"),
        ([{"key": "x" * 41, "name": "x"}], "[0].key"),
        ([{"key": "a", "name": "A"}, {"key": "a", "name": "B"}], "[1].key"),
        ([{"key": "a", "name": "A", "channels": ["apns", "sms"]}], "[0].channels[1]"),
        ([{"key": "a", "name": "A", "channels": []}], "[0].channels"),
        ([{"key": "a"}], "[0].name"),
        ([{"key": "a", "name": "A", "colour": "red"}], "[0].colour"),
    ],
)
async def test_bad_categories_are_refused_with_their_path_and_nothing_stored(
    client, make_app, body, field
) -> None:
    app = await make_app()
    path = f"/v1/apps/{app.id}/categories"
    await client.put(path, json=CATEGORIES, headers=app.server_headers)
    answer = await client.put(path, json=body, headers=app.server_headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    assert len((await client.get(path, headers=app.server_headers)).json()) == 3


async def test_preferences_read_change_partially_and_reset(client, make_app) -> None:
    app = await make_app()
    headers = app.server_headers
    await client.put(f"/v1/apps/{app.id}/categories", json=CATEGORIES, headers=headers)
    await client.put("/v1/users/ann", json={"email": "ann@example.com"}, headers=headers)
    path = "/v1/users/ann/preferences"

    shown = (await client.get(path, headers=headers)).json()
    assert shown == {
        "categories": {
            "promotions": dict.fromkeys(DELIVERY_CHANNELS, True),
            "orders": {"email": True, "inbox": True},
            "digest": {"email": False},
        },
        "unsubscribed": [],
        "quiet_hours": None,
    }
    changed = await client.patch(
        path,
        json={
            "categories": {"promotions": {"email": False}, "digest": {"email": True}},
            "unsubscribed": ["webpush"],
            "quiet_hours": {"start": "22:00", "end": "07:30"},
        },
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["categories"]["promotions"]["email"] is False
    assert body["categories"]["promotions"]["apns"] is True
    assert body["categories"]["digest"] == {"email": True}
    assert body["unsubscribed"] == ["webpush"]
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:30"}

    # Partial: what is left out keeps its value; null resets a cell to the default.
    again = (
        await client.patch(path, json={"categories": {"digest": {"email": None}}}, headers=headers)
    ).json()
    assert again["categories"]["digest"] == {"email": False}
    assert again["categories"]["promotions"]["email"] is False
    assert again["unsubscribed"] == ["webpush"]
    assert again["quiet_hours"] == {"start": "22:00", "end": "07:30"}
    cleared = (
        await client.patch(path, json={"unsubscribed": [], "quiet_hours": None}, headers=headers)
    ).json()
    assert (cleared["unsubscribed"], cleared["quiet_hours"]) == ([], None)

    profile = (await client.get("/v1/users/ann", headers=headers)).json()
    assert profile["preferences"] == cleared


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"categories": {"nope": {"email": False}}}, "categories.nope"),
        ({"categories": {"orders": {"apns": False}}}, "categories.orders.apns"),
        ({"categories": {"promotions": {"sms": False}}}, "categories.promotions.sms"),
        ({"unsubscribed": ["email", "fax"]}, "unsubscribed[1]"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "07:00", "end": "07:00"}}, "quiet_hours"),
        ({"categories": {"promotions": {"email": "no"}}}, "categories.promotions.email"),
    ],
)
async def test_bad_preference_changes_are_refused_and_change_nothing(client, make_app, body, field) -> None:
    app = await make_app()
    headers = app.server_headers
    await client.put(f"/v1/apps/{app.id}/categories", json=CATEGORIES, headers=headers)
    await client.put("/v1/users/ann", json={}, headers=headers)
    before = (await client.get("/v1/users/ann/preferences", headers=headers)).json()
    # A valid part beside the bad one: the change is all or nothing.
    payload = {"unsubscribed": ["inbox"], **body}
    answer = await client.patch("/v1/users/ann/preferences", json=payload, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    assert (await client.get("/v1/users/ann/preferences", headers=headers)).json() == before


async def test_a_preference_link_opens_the_users_page(client, make_app, services) -> None:
    app = await make_app()
    await client.put("/v1/users/ann", json={"locale": "de-DE"}, headers=app.server_headers)
    link = await client.post(
        "/v1/users/ann/preferences/link", json={"ttl_seconds": 3600}, headers=app.server_headers
    )
    assert link.status_code == 200, link.text
    body = link.json()
    assert body["url"].startswith(services.settings.public_base_url + "/v1/preferences/")
    page = await client.get(urlsplit(body["url"]).path)
    assert page.status_code == 200
    assert 'lang="de"' in page.text
    assert (
        await client.post("/v1/users/ann/preferences/link", headers=app.server_headers)
    ).status_code == 200


async def test_unknown_users_and_other_apps_see_nothing(client, make_app) -> None:
    a, b = await make_app("a"), await make_app("b")
    await client.put(f"/v1/apps/{a.id}/categories", json=CATEGORIES, headers=a.server_headers)
    await client.put("/v1/users/ann", json={}, headers=a.server_headers)
    await client.patch(
        "/v1/users/ann/preferences", json={"unsubscribed": ["email"]}, headers=a.server_headers
    )
    for method, path, body in (
        ("GET", f"/v1/apps/{a.id}/categories", None),
        ("PUT", f"/v1/apps/{a.id}/categories", []),
        ("GET", "/v1/users/ann/preferences", None),
        ("PATCH", "/v1/users/ann/preferences", {"unsubscribed": []}),
        ("POST", "/v1/users/ann/preferences/link", None),
    ):
        answer = await client.request(method, path, json=body, headers=b.server_headers)
        assert answer.status_code == 404, (method, path, answer.text)
        client_key = await client.request(method, path, json=body, headers=a.client_headers)
        assert client_key.status_code in (403, 404), (method, path)
    assert len((await client.get(f"/v1/apps/{a.id}/categories", headers=a.server_headers)).json()) == 3
    kept = (await client.get("/v1/users/ann/preferences", headers=a.server_headers)).json()
    assert kept["unsubscribed"] == ["email"]
