"""API rate limits: per key, per address and on dashboard log-ins, and one budget for a cluster.

Each "process" is a `create_app` over its own `Services` (its own in-memory mirrors), all on one
database, as separate `pushwise api` processes would be; their background syncs are run by hand
so the test decides when the processes share what they spent.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pushwise.api.app import create_app
from pushwise.api.rate_limits import BudgetSync
from pushwise.bootstrap import Services, build_services
from pushwise.domain.clock import ManualClock
from pushwise.settings import Settings
from pushwise.store.apps import AppRepository
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY
from tests.integration.pg_databases import fresh_store


class Cluster:
    def __init__(self, url: str, clock: ManualClock, tmp_path: Path, **limits: float) -> None:
        self.clock = clock
        self.settings = Settings(
            database_url=url,
            admin_key=ADMIN_KEY,
            secret_key=SECRET_KEY,
            secret_key_file=str(tmp_path / "pushwise.key"),
            allow_private_endpoints=True,
            **limits,  # type: ignore[arg-type]
        )
        self.services: list[Services] = []
        self.apps: list[FastAPI] = []

    def process(self) -> httpx.AsyncClient:
        services = build_services(self.settings, clock=self.clock, rng=random.Random(7))
        app = create_app(services)
        self.services.append(services)
        self.apps.append(app)
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://pushwise.test")

    async def sync(self) -> None:
        for app in self.apps:
            sync: BudgetSync = app.state.budget_sync
            await sync.sync_once()

    async def server_key(self) -> tuple[str, str]:
        created = await AppRepository(self.services[0].db, self.clock).create_with_keys("shop")
        return created.app.id, created.server_key.secret

    async def close(self) -> None:
        for services in self.services:
            await services.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_store("sqlite", None, tmp_path) as url:
        yield url


def assert_rate_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    wait = int(response.headers["retry-after"])
    assert wait >= 1
    return wait


async def test_a_key_over_its_budget_is_refused_until_it_waits_as_told(
    sqlite_url: str, tmp_path: Path
) -> None:
    cluster = Cluster(sqlite_url, ManualClock(), tmp_path, api_rate_limit=2.0, api_rate_limit_per_ip=0.0)
    try:
        client = cluster.process()
        app_id, key = await cluster.server_key()
        headers = {"authorization": f"Bearer {key}"}
        statuses = [(await client.get(f"/v1/apps/{app_id}", headers=headers)).status_code for _ in range(4)]
        assert statuses == [200] * 4  # a burst of twice the rate
        wait = assert_rate_limited(await client.get(f"/v1/apps/{app_id}", headers=headers))
        admin = {"authorization": f"Bearer {ADMIN_KEY}"}
        assert (await client.get(f"/v1/apps/{app_id}", headers=admin)).status_code == 200  # another key
        cluster.clock.advance(wait)
        assert (await client.get(f"/v1/apps/{app_id}", headers=headers)).status_code == 200
        await client.aclose()
    finally:
        await cluster.close()


async def test_an_address_over_its_budget_is_refused_before_its_key_is_even_looked_at(
    sqlite_url: str, tmp_path: Path
) -> None:
    cluster = Cluster(sqlite_url, ManualClock(), tmp_path, api_rate_limit_per_ip=1.0)
    try:
        client = cluster.process()
        guesses = [{"authorization": f"Bearer pw_srv_guess{n}"} for n in range(3)]
        statuses = [(await client.get("/v1/apps/x", headers=h)).status_code for h in guesses]
        assert statuses[:2] == [401, 401]
        assert_rate_limited(await client.get("/v1/apps/x", headers=guesses[2]))
        assert_rate_limited(await client.get("/healthz"))
        cluster.clock.advance(1.0)
        assert (await client.get("/healthz")).status_code == 200
        await client.aclose()
    finally:
        await cluster.close()


async def test_api_processes_share_one_budget_per_key(store_url: str, tmp_path: Path) -> None:
    cluster = Cluster(store_url, ManualClock(), tmp_path, api_rate_limit=5.0, api_rate_limit_per_ip=0.0)
    try:
        first, second = cluster.process(), cluster.process()
        app_id, key = await cluster.server_key()
        headers = {"authorization": f"Bearer {key}"}
        url = f"/v1/apps/{app_id}"
        assert [(await first.get(url, headers=headers)).status_code for _ in range(10)] == [200] * 10
        assert_rate_limited(await first.get(url, headers=headers))
        await cluster.sync()
        # The second process had not heard of the key: it serves from a full mirror until it syncs...
        assert [(await second.get(url, headers=headers)).status_code for _ in range(3)] == [200] * 3
        await cluster.sync()
        await cluster.sync()
        # ...then it owes what the first spent too, and both make the key wait out the debt.
        wait = assert_rate_limited(await second.get(url, headers=headers))
        assert wait == 1  # (3 owed + 1) / 5 per second, rounded up
        assert_rate_limited(await first.get(url, headers=headers))
        cluster.clock.advance(wait)
        assert (await first.get(url, headers=headers)).status_code == 200
        await asyncio.gather(first.aclose(), second.aclose())
    finally:
        await cluster.close()


async def test_dashboard_log_ins_are_throttled_per_address(sqlite_url: str, tmp_path: Path) -> None:
    cluster = Cluster(sqlite_url, ManualClock(), tmp_path, dashboard_logins_per_minute=3.0)
    try:
        client = cluster.process()
        statuses = [
            (await client.post("/dashboard/login", data={"key": f"pw_admin_guess{n}"})).status_code
            for n in range(6)
        ]
        assert statuses == [401] * 6  # a burst of twice the rate
        refused = await client.post("/dashboard/login", data={"key": ADMIN_KEY})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) == 20  # one attempt per 20 s
        assert "default-src 'self'" in refused.headers["content-security-policy"]
        cluster.clock.advance(20)
        assert (await client.post("/dashboard/login", data={"key": ADMIN_KEY})).status_code == 303
        await client.aclose()
    finally:
        await cluster.close()
