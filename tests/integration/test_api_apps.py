"""Apps, keys and the three scopes over real HTTP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


async def test_admin_creates_an_app_and_sees_its_keys_once(client, admin_headers, make_app) -> None:
    response = await client.post("/v1/apps", json={"name": "  shop  "}, headers=admin_headers)
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "shop"
    assert created["id"].startswith("app_")
    assert created["server_key"].startswith("pw_srv_")
    assert created["client_key"].startswith("pw_cli_")
    assert created["created_at"].endswith("Z")

    shown = (await client.get(f"/v1/apps/{created['id']}", headers=admin_headers)).json()
    assert {key["kind"] for key in shown["keys"]} == {"server", "client"}
    assert created["server_key"] not in str(shown)

    other = await make_app("blog")
    listed = (await client.get("/v1/apps", headers=admin_headers)).json()["items"]
    assert {app["id"] for app in listed} == {created["id"], other.id}


async def test_an_app_is_readable_by_its_server_key_only(client, make_app) -> None:
    shop, blog = await make_app("shop"), await make_app("blog")
    assert (await client.get(f"/v1/apps/{shop.id}", headers=shop.server_headers)).json()["name"] == "shop"
    hidden = await client.get(f"/v1/apps/{shop.id}", headers=blog.server_headers)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"
    client_key = await client.get(f"/v1/apps/{shop.id}", headers=shop.client_headers)
    assert client_key.status_code == 403
    assert client_key.json()["error"]["code"] == "forbidden_scope"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer pw_srv_nonsense"},
        {"authorization": "Basic dXNlcjpwdw=="},
        {"authorization": "Bearer"},
    ],
)
async def test_missing_or_invalid_credentials_get_401(client, headers) -> None:
    response = await client.get("/v1/apps", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_only_admins_create_and_list_apps(client, make_app) -> None:
    shop = await make_app()
    for headers in (shop.server_headers, shop.client_headers):
        assert (await client.post("/v1/apps", json={"name": "x"}, headers=headers)).status_code == 403
        assert (await client.get("/v1/apps", headers=headers)).status_code == 403


async def test_admin_asking_for_an_unknown_app_gets_404(client, admin_headers) -> None:
    response = await client.get("/v1/apps/app_missing", headers=admin_headers)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "no such app"}}


async def test_app_name_is_required(client, admin_headers) -> None:
    response = await client.post("/v1/apps", json={"name": "   "}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "name"


async def test_keys_created_by_the_cli_work_through_the_api(client, settings, services) -> None:
    from pushwise.admin import create_admin_key, create_app_with_keys

    admin_key = await create_admin_key(settings)
    assert admin_key.startswith("pw_admin_")
    response = await client.post(
        "/v1/apps", json={"name": "cli"}, headers={"authorization": f"Bearer {admin_key}"}
    )
    assert response.status_code == 201

    created = await create_app_with_keys(settings, "from-cli")
    assert set(created) == {"app_id", "name", "server_key", "client_key"}
    shown = await client.get(
        f"/v1/apps/{created['app_id']}", headers={"authorization": f"Bearer {created['server_key']}"}
    )
    assert shown.json()["name"] == "from-cli"


async def test_keys_rotate_without_downtime_and_revocation_is_immediate(client, make_app) -> None:
    shop = await make_app()
    rotated = await client.post(
        f"/v1/apps/{shop.id}/keys", json={"kind": "server"}, headers=shop.server_headers
    )
    assert rotated.status_code == 201
    new_key = rotated.json()
    assert new_key["key"].startswith("pw_srv_")
    new_headers = {"authorization": f"Bearer {new_key['key']}"}
    assert (await client.get(f"/v1/apps/{shop.id}", headers=new_headers)).status_code == 200
    old_key_id = next(
        key["id"]
        for key in (await client.get(f"/v1/apps/{shop.id}", headers=new_headers)).json()["keys"]
        if key["kind"] == "server" and key["id"] != new_key["id"]
    )
    assert (await client.get(f"/v1/apps/{shop.id}", headers=shop.server_headers)).status_code == 200

    revoked = await client.delete(f"/v1/apps/{shop.id}/keys/{old_key_id}", headers=new_headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get(f"/v1/apps/{shop.id}", headers=shop.server_headers)).status_code == 401
    assert (await client.get(f"/v1/apps/{shop.id}", headers=new_headers)).status_code == 200
    missing = await client.delete(f"/v1/apps/{shop.id}/keys/key_missing", headers=new_headers)
    assert missing.status_code == 404


async def test_another_apps_server_key_cannot_rotate_or_revoke(client, make_app) -> None:
    shop, blog = await make_app("shop"), await make_app("blog")
    keys = (await client.get(f"/v1/apps/{shop.id}", headers=shop.server_headers)).json()["keys"]
    attempt = await client.post(
        f"/v1/apps/{shop.id}/keys", json={"kind": "client"}, headers=blog.server_headers
    )
    assert attempt.status_code == 404
    revoke = await client.delete(f"/v1/apps/{shop.id}/keys/{keys[0]['id']}", headers=blog.server_headers)
    assert revoke.status_code == 404
    assert (await client.get(f"/v1/apps/{shop.id}", headers=shop.server_headers)).status_code == 200
