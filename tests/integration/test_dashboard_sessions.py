"""Dashboard sessions end with the key they were made from: revoked, rotated, or replaced in the settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from pushwise.api.app import create_app
from pushwise.bootstrap import Services
from pushwise.dashboard import routes as dashboard_routes
from pushwise.dashboard.session import COOKIE
from pushwise.domain.clock import ManualClock
from pushwise.store.keys import KeyRepository

from .conftest import ADMIN_KEY, TenantApp, serve_app


async def _login(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post("/dashboard/login", data={"key": key})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/dashboard"
    assert client.cookies.get(COOKIE)


async def _server_key_id(client: httpx.AsyncClient, app: TenantApp, admin_headers: dict[str, str]) -> str:
    listed = (await client.get(f"/v1/apps/{app.id}", headers=admin_headers)).json()["keys"]
    return next(str(k["id"]) for k in listed if k["kind"] == "server" and k["revoked_at"] is None)


def _goes_to_login(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"] == "/dashboard/login"


async def test_rotating_the_server_key_ends_its_sessions(
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
    admin_headers: dict[str, str],
) -> None:
    app = await make_app("shop")
    await _login(client, app.server_key)
    assert (await client.get("/dashboard")).status_code == 200
    old_id = await _server_key_id(client, app, admin_headers)

    rotated = await client.post(f"/v1/apps/{app.id}/keys", json={"kind": "server"}, headers=admin_headers)
    assert rotated.status_code == 201
    revoked = await client.delete(f"/v1/apps/{app.id}/keys/{old_id}", headers=admin_headers)
    assert revoked.status_code == 200

    assert _goes_to_login(await client.get("/dashboard"))
    assert _goes_to_login(await client.get("/dashboard/dead-letters"))
    assert (await client.get("/dashboard/events")).status_code == 401
    csrf_less_replay = await client.post(
        "/dashboard/dead-letters/replay", data={"app": app.id, "delivery_ids": "1"}
    )
    assert _goes_to_login(csrf_less_replay)

    # The new key logs in again.
    await _login(client, rotated.json()["key"])
    assert (await client.get("/dashboard")).status_code == 200


async def test_a_key_revoked_by_another_process_stops_working_within_the_cache_time(
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
    admin_headers: dict[str, str],
    services: Services,
    clock: ManualClock,
) -> None:
    app = await make_app("shop")
    await _login(client, app.server_key)
    assert (await client.get("/dashboard")).status_code == 200
    key_id = await _server_key_id(client, app, admin_headers)

    # Straight in the database, as the CLI or another API process would: this process's cache is not told.
    assert await KeyRepository(services.db, services.clock).revoke(app.id, key_id) is not None
    clock.advance(5.1)
    assert _goes_to_login(await client.get("/dashboard"))


async def test_an_open_event_stream_ends_when_its_key_is_revoked(
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dashboard_routes, "LIVE_SECONDS", 0.05)
    app = await make_app("shop")
    await _login(client, app.server_key)
    key_id = await _server_key_id(client, app, admin_headers)

    events = 0
    async with client.stream("GET", "/dashboard/events") as stream:
        assert stream.status_code == 200
        async for line in stream.aiter_lines():
            if line.startswith("event: overview"):
                events += 1
                if events == 2:
                    revoked = await client.delete(f"/v1/apps/{app.id}/keys/{key_id}", headers=admin_headers)
                    assert revoked.status_code == 200
            assert events < 10, "the stream kept going after its key was revoked"
    assert events >= 2


async def test_sessions_of_the_settings_admin_key_end_when_the_setting_changes(services: Services) -> None:
    async with serve_app(create_app(services)) as base, httpx.AsyncClient(base_url=base) as client:
        await _login(client, ADMIN_KEY)
        assert (await client.get("/dashboard")).status_code == 200
        cookie = client.cookies.get(COOKIE)

    services.settings = services.settings.with_overrides(admin_key="pw_admin_a-new-one-0123456789abcdef")
    async with serve_app(create_app(services)) as base, httpx.AsyncClient(base_url=base) as client:
        client.cookies.set(COOKIE, str(cookie), path="/dashboard")
        assert _goes_to_login(await client.get("/dashboard"))
