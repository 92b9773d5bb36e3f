"""`/v1/segments` and `to.segment` over real HTTP: CRUD, preview, refusals with paths, tenancy.

Notifications to segments delivered through the APNs simulator: tests/integration/test_api_notifications.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.integration.conftest import TenantApp

pytestmark = pytest.mark.integration

GERMANS = {"field": "country", "op": "=", "value": "DE"}
MakeApp = Callable[..., Awaitable[TenantApp]]


async def _people(client: httpx.AsyncClient, app: TenantApp, countries: dict[str, str]) -> None:
    for external_id, country in countries.items():
        answer = await client.put(
            f"/v1/users/{external_id}", json={"location": {"country": country}}, headers=app.server_headers
        )
        assert answer.status_code in (200, 201), answer.text


async def test_saved_segments_are_created_read_listed_replaced_and_deleted(
    client: httpx.AsyncClient, make_app: MakeApp
) -> None:
    app = await make_app()
    created = await client.post(
        "/v1/segments", json={"name": "germans", "rule": GERMANS}, headers=app.server_headers
    )
    assert created.status_code == 201, created.text
    segment = created.json()
    assert (segment["name"], segment["rule"]) == ("germans", GERMANS)
    assert (await client.get(f"/v1/segments/{segment['id']}", headers=app.server_headers)).json() == segment

    for n in range(2):
        await client.post("/v1/segments", json={"name": f"s{n}", "rule": GERMANS}, headers=app.server_headers)
    first = (await client.get("/v1/segments", params={"limit": 2}, headers=app.server_headers)).json()
    rest = (
        await client.get("/v1/segments", params={"cursor": first["next_cursor"]}, headers=app.server_headers)
    ).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    assert rest["next_cursor"] is None
    assert {s["name"] for s in first["items"] + rest["items"]} == {"germans", "s0", "s1"}

    french = {"field": "country", "op": "=", "value": "FR"}
    replaced = await client.put(
        f"/v1/segments/{segment['id']}", json={"name": "french", "rule": french}, headers=app.server_headers
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["name"], replaced.json()["rule"]) == ("french", french)

    assert (
        await client.delete(f"/v1/segments/{segment['id']}", headers=app.server_headers)
    ).status_code == 204
    assert (await client.get(f"/v1/segments/{segment['id']}", headers=app.server_headers)).status_code == 404
    assert (
        await client.delete(f"/v1/segments/{segment['id']}", headers=app.server_headers)
    ).status_code == 404


async def test_preview_counts_and_samples(client: httpx.AsyncClient, make_app: MakeApp) -> None:
    app = await make_app()
    await _people(client, app, {f"de{n:02}": "DE" for n in range(25)} | {"fr": "FR"})
    preview = await client.post("/v1/segments/preview", json={"rule": GERMANS}, headers=app.server_headers)
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 25
    assert len(preview.json()["sample"]) == 20
    assert set(preview.json()["sample"]) <= {f"de{n:02}" for n in range(25)}
    nobody = {"all": [GERMANS, {"field": "country", "op": "=", "value": "FR"}]}
    empty = await client.post("/v1/segments/preview", json={"rule": nobody}, headers=app.server_headers)
    assert empty.json() == {"count": 0, "sample": []}


BAD = {"all": [GERMANS, {"any": [{"field": "tags", "op": "=", "value": "vip"}]}]}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/segments", {"name": "bad", "rule": BAD}, "rule.all[1].any[0].op"),
        (
            "POST",
            "/v1/segments/preview",
            {"rule": {"not": {"field": "country", "op": "=", "value": "XX"}}},
            "rule.not.value",
        ),
        (
            "POST",
            "/v1/notifications",
            {"to": {"segment": {"rule": BAD}}, "content": {"title": "t"}},
            "to.segment.rule.all[1].any[0].op",
        ),
        (
            "POST",
            "/v1/notifications",
            {"to": {"segment": {"id": "seg_missing"}}, "content": {"title": "t"}},
            "to.segment.id",
        ),
        (
            "POST",
            "/v1/segments",
            {"name": "x", "rule": {"field": "segment", "op": "=", "value": "seg_missing"}},
            "rule.value",
        ),
    ],
)
async def test_bad_rules_are_refused_with_the_path_of_the_clause(
    client: httpx.AsyncClient, make_app: MakeApp, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    app = await make_app()
    answer = await client.request(method, path, json=body, headers=app.server_headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_rule"
    assert answer.json()["error"]["field"] == field
    assert (await client.get("/v1/segments", headers=app.server_headers)).json()["items"] == []


async def test_a_segment_cannot_name_itself_nor_be_deleted_while_named(
    client: httpx.AsyncClient, make_app: MakeApp
) -> None:
    app = await make_app()
    base = (
        await client.post("/v1/segments", json={"name": "base", "rule": GERMANS}, headers=app.server_headers)
    ).json()
    named = {"field": "segment", "op": "=", "value": base["id"]}
    outer = (
        await client.post("/v1/segments", json={"name": "outer", "rule": named}, headers=app.server_headers)
    ).json()
    loop = {"any": [GERMANS, {"field": "segment", "op": "=", "value": outer["id"]}]}
    refused = await client.put(
        f"/v1/segments/{base['id']}", json={"name": "base", "rule": loop}, headers=app.server_headers
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "rule.any[1].value"
    assert f"{base['id']} -> {outer['id']} -> {base['id']}" in refused.json()["error"]["message"]
    in_use = await client.delete(f"/v1/segments/{base['id']}", headers=app.server_headers)
    assert in_use.status_code == 409
    assert in_use.json()["error"]["code"] == "segment_in_use"
    assert (await client.get(f"/v1/segments/{base['id']}", headers=app.server_headers)).json()[
        "rule"
    ] == GERMANS


async def test_one_app_can_neither_see_nor_use_another_apps_segments_or_users(
    client: httpx.AsyncClient, make_app: MakeApp
) -> None:
    a, b = await make_app("a"), await make_app("b")
    await _people(client, a, {"anna": "DE"})
    await _people(client, b, {"bert": "DE"})
    segment = (
        await client.post("/v1/segments", json={"name": "a", "rule": GERMANS}, headers=a.server_headers)
    ).json()
    at = f"/v1/segments/{segment['id']}"
    assert (await client.get(at, headers=b.server_headers)).status_code == 404
    replaced = await client.put(at, json={"name": "b", "rule": GERMANS}, headers=b.server_headers)
    assert replaced.status_code == 404
    assert (await client.delete(at, headers=b.server_headers)).status_code == 404
    assert (await client.get("/v1/segments", headers=b.server_headers)).json()["items"] == []
    borrowed = {"field": "segment", "op": "=", "value": segment["id"]}
    answer = await client.post("/v1/segments/preview", json={"rule": borrowed}, headers=b.server_headers)
    assert answer.status_code == 422
    sent = await client.post(
        "/v1/notifications",
        json={"to": {"segment": {"id": segment["id"]}}, "content": {"title": "t"}},
        headers=b.server_headers,
    )
    assert (sent.status_code, sent.json()["error"]["field"]) == (422, "to.segment.id")
    preview = await client.post("/v1/segments/preview", json={"rule": GERMANS}, headers=b.server_headers)
    assert preview.json() == {"count": 1, "sample": ["bert"]}
    for method, path in (("GET", "/v1/segments"), ("GET", at), ("POST", "/v1/segments/preview")):
        client_key = await client.request(method, path, json={"rule": GERMANS}, headers=a.client_headers)
        assert client_key.status_code == 403, (method, path)
    assert (await client.get(at, headers=a.server_headers)).json()["name"] == "a"


async def test_a_nul_in_attributes_or_tags_is_refused(client: httpx.AsyncClient, make_app: MakeApp) -> None:
    """PostgreSQL's JSON operators fail on a document holding `\\u0000`: one such user would break
    every segment rule on attributes or tags, so none is stored."""
    app = await make_app()
    for body, field in (
        ({"attributes": {"nested": [{"name": "a\x00b"}]}}, "attributes"),
        ({"attributes": {"k\x00": 1}}, "attributes"),
        ({"tags": ["ok", "b\x00d"]}, "tags[1]"),
    ):
        answer = await client.put("/v1/users/nul", json=body, headers=app.server_headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == field
    assert (await client.get("/v1/users/nul", headers=app.server_headers)).status_code == 404
