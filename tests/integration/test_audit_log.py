"""The audit log: set-up changes are recorded with who (key id), what, which app, when and from
where; `GET /v1/audit` pages them newest first, all of them for the admin, its own for an app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from tests.integration.conftest import ADMIN_KEY, TenantApp

WEBPUSH = {"subject": "mailto:ops@example.com"}


async def audit(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> dict:  # type: ignore[type-arg]
    response = await client.get("/v1/audit", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def key_ids(client: httpx.AsyncClient, app: TenantApp, headers: dict[str, str]) -> dict[str, str]:
    body = (await client.get(f"/v1/apps/{app.id}", headers=headers)).json()
    return {key["kind"]: key["id"] for key in body["keys"]}


async def test_creating_an_app_and_configuring_its_provider_are_audited_with_the_app(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]], admin_headers: dict[str, str]
) -> None:
    shop = await make_app("shop")
    response = await client.put(
        f"/v1/apps/{shop.id}/providers/webpush", json=WEBPUSH, headers=shop.server_headers
    )
    assert response.status_code == 200, response.text

    items = (await audit(client, admin_headers))["items"]
    configured, created = items[0], items[1]
    server_key_id = (await key_ids(client, shop, admin_headers))["server"]
    assert (configured["action"], configured["app_id"], configured["target"]) == (
        "provider.configure",
        shop.id,
        "webpush",
    )
    assert configured["actor"] == server_key_id
    assert (created["action"], created["app_id"], created["actor"]) == ("app.create", shop.id, "admin")
    for item in (configured, created):
        assert item["ip"] == "127.0.0.1"
        assert item["at"].endswith("Z") or "+00:00" in item["at"]
    text = str(items)
    assert shop.server_key not in text  # key ids, never keys
    assert ADMIN_KEY not in text


async def test_a_server_key_reads_its_own_apps_entries_only_and_a_client_key_none(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]], admin_headers: dict[str, str]
) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    for app in (shop, other):
        put = await client.put(
            f"/v1/apps/{app.id}/providers/webpush", json=WEBPUSH, headers=app.server_headers
        )
        assert put.status_code == 200
    own = (await audit(client, shop.server_headers))["items"]
    assert {item["app_id"] for item in own} == {shop.id}
    assert {item["action"] for item in own} == {"app.create", "provider.configure"}
    assert {item["app_id"] for item in (await audit(client, admin_headers))["items"]} == {shop.id, other.id}
    refused = await client.get("/v1/audit", headers=shop.client_headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden_scope"
    assert (await client.get("/v1/audit")).status_code == 401


async def test_the_log_pages_by_cursor_newest_first_without_gaps_or_repeats(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]], admin_headers: dict[str, str]
) -> None:
    shop = await make_app("shop")
    url = f"/v1/apps/{shop.id}/keys"
    for _ in range(4):
        issued = await client.post(url, json={"kind": "client"}, headers=shop.server_headers)
        assert issued.status_code == 201
        revoked = await client.delete(f"{url}/{issued.json()['id']}", headers=admin_headers)
        assert revoked.status_code == 200
    seen: list[tuple[str, str | None]] = []
    cursor = None
    while True:
        page = await audit(client, shop.server_headers, limit="3", **({"cursor": cursor} if cursor else {}))
        seen += [(item["action"], item["target"]) for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 9  # app.create, then four key.issue and key.revoke pairs
    assert seen[-1] == ("app.create", None)
    assert [action for action, _ in seen[:-1]] == ["key.revoke", "key.issue"] * 4
    assert len({target for _, target in seen[:-1]}) == 4  # each pair names its key
    bad = await client.get("/v1/audit", params={"cursor": "abc"}, headers=admin_headers)
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "cursor")
