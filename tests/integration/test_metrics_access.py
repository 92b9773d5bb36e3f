"""`/metrics` behind `metrics_token`: the token or the admin key; anything else is a 401 JSON error."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.domain.clock import ManualClock
from pushwise.settings import Settings
from pushwise.store.migrate import upgrade

from .conftest import ADMIN_KEY, serve_app

TOKEN = "scrape-me-0123456789"


@pytest.fixture
async def guarded(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    await asyncio.to_thread(upgrade, settings.database_url)
    built: Services = build_services(
        settings.with_overrides(metrics_token=TOKEN), clock=clock, rng=random.Random(5)
    )
    try:
        async with serve_app(create_app(built)) as base, httpx.AsyncClient(base_url=base) as http:
            yield http
    finally:
        await built.close()


async def test_metrics_stay_open_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "pushwise_" in response.text


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}])
async def test_a_missing_or_wrong_token_is_refused(
    guarded: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await guarded.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    assert "pushwise_" not in response.text


async def test_a_server_key_is_not_enough(guarded: httpx.AsyncClient) -> None:
    created = await guarded.post(
        "/v1/apps", json={"name": "shop"}, headers={"authorization": f"Bearer {ADMIN_KEY}"}
    )
    server_key = created.json()["server_key"]
    response = await guarded.get("/metrics", headers={"authorization": f"Bearer {server_key}"})
    assert response.status_code == 401


@pytest.mark.parametrize("secret", [TOKEN, ADMIN_KEY])
async def test_the_token_or_the_admin_key_reads_the_metrics(guarded: httpx.AsyncClient, secret: str) -> None:
    response = await guarded.get("/metrics", headers={"authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "pushwise_" in response.text
