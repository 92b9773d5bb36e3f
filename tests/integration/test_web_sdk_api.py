"""What the Web SDK needs from the server: its files at `/sdk/`, the app's VAPID public key for a
client key, and CORS on the client-key routes (only those) for the origins configured."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from importlib import resources

import httpx
import pytest
from fastapi import FastAPI

from pushwise.api.app import create_app
from pushwise.bootstrap import Services
from tests.integration.conftest import TenantApp

pytestmark = pytest.mark.integration
SHOP = "https://shop.example"


async def test_the_sdk_files_are_served_as_javascript_to_any_origin(client: httpx.AsyncClient) -> None:
    for name in ("pushwise.js", "pushwise-sw.js", "pushwise-inbox.js"):
        answer = await client.get(f"/sdk/{name}")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/javascript")
        assert answer.headers["access-control-allow-origin"] == "*"  # a cross-origin module import
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.content == resources.files("pushwise.web_sdk").joinpath(name).read_bytes()
    assert (await client.get("/sdk/__init__.py")).status_code == 404
    assert (await client.get("/sdk/..%2Fsettings.py")).status_code == 404


async def test_a_client_key_reads_its_apps_vapid_public_key(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]]
) -> None:
    shop = await make_app("shop")
    as_client = {"authorization": f"Bearer {shop.client_key}"}
    missing = await client.get("/v1/webpush/vapid-public-key", headers=as_client)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    configured = await client.put(
        f"/v1/apps/{shop.id}/providers/webpush",
        json={"subject": "mailto:ops@shop.example"},
        headers={"authorization": f"Bearer {shop.server_key}"},
    )
    answer = await client.get("/v1/webpush/vapid-public-key", headers=as_client)
    assert answer.json() == {"vapid_public_key": configured.json()["vapid_public_key"]}


def _preflight(path: str, origin: str = SHOP) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, x-pushwise-user-token",
    }


async def test_cors_is_off_by_default(client: httpx.AsyncClient) -> None:
    answer = await client.options("/v1/events", headers=_preflight("/v1/events"))
    assert "access-control-allow-origin" not in answer.headers


async def test_cors_opens_the_client_key_routes_to_the_configured_origins_only(
    services: Services,
    serve: Callable[[FastAPI], contextlib.AbstractAsyncContextManager[str]],
) -> None:
    configured = replace(services, settings=services.settings.with_overrides(sdk_allowed_origins=SHOP))
    async with serve(create_app(configured)) as url, httpx.AsyncClient(base_url=url) as http:
        for path in ("/v1/devices", "/v1/events", "/v1/inbox/stream", "/v1/webpush/vapid-public-key"):
            granted = await http.options(path, headers=_preflight(path))
            assert granted.status_code == 200, path
            assert granted.headers["access-control-allow-origin"] == SHOP
            allowed = granted.headers["access-control-allow-headers"].lower()
            assert "x-pushwise-user-token" in allowed
            assert "authorization" in allowed
        refused = await http.options("/v1/events", headers=_preflight("/v1/events", "https://evil.example"))
        assert "access-control-allow-origin" not in refused.headers
        server_only = await http.options("/v1/notifications", headers=_preflight("/v1/notifications"))
        assert "access-control-allow-origin" not in server_only.headers
        # an error answer carries the header too, so the page can read its machine-readable code
        unauthorised = await http.post("/v1/events", json={"events": []}, headers={"origin": SHOP})
        assert unauthorised.status_code == 401
        assert unauthorised.headers["access-control-allow-origin"] == SHOP
