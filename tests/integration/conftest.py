"""Shared integration fixtures: a migrated SQLite database, the services built on
it, and the real HTTP API served by uvicorn on a free 127.0.0.1 port inside the
test's event loop.

`serve_app(app)` is usable on its own, e.g. to serve `create_app(services,
background=[...])` with delivery workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.domain.clock import ManualClock
from pushwise.settings import Settings
from pushwise.store.migrate import upgrade
from tests.integration.pg_databases import fresh_store

ADMIN_KEY = "pw_admin_integration-tests-0123456789abcdef"
SECRET_KEY = "integration-tests-secret-key-0123456789abcdef"


class _LoopbackServer(uvicorn.Server):
    """Leaves SIGINT and SIGTERM to pytest."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI, *, port: int = 0, **options: Any) -> AsyncIterator[str]:
    """Run `app` (with its lifespan) on a free loopback port (or `port`); yields the base URL.

    `options` go to `uvicorn.Config` (e.g. `http=` for pushwise's own HTTP protocol)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: on the stock asyncio loop (the tests' loop; uvloop sets it
    # itself) small answers otherwise wait ~40 ms for a delayed ACK (Nagle), on every request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5, **options
    )
    server = _LoopbackServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass(frozen=True)
class TenantApp:
    id: str
    name: str
    server_key: str
    client_key: str

    @property
    def server_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.server_key}"}

    @property
    def client_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.client_key}"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@contextlib.asynccontextmanager
async def settings_on_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Test settings on a fresh store of the engine `request.param` names (`sqlite` or
    `postgresql`), for suites that override `settings` to run on both."""
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        yield Settings(
            database_url=url,
            admin_key=ADMIN_KEY,
            secret_key=SECRET_KEY,
            secret_key_file=str(tmp_path / "pushwise.key"),
            allow_private_endpoints=True,
        )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'pushwise.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        secret_key_file=str(tmp_path / "pushwise.key"),
        allow_private_endpoints=True,
    )


@pytest.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    await asyncio.to_thread(upgrade, settings.database_url)
    built = build_services(settings, clock=clock, rng=random.Random(20261125))
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
def serve() -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[str]]:
    """`async with serve(app) as base_url:` runs another app, e.g. with other settings or workers."""
    return serve_app


@pytest.fixture
async def server(services: Services) -> AsyncIterator[str]:
    async with serve_app(create_app(services)) as base_url:
        yield base_url


@pytest.fixture
async def client(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=10.0) as http:
        yield http


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def make_app(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Callable[..., Awaitable[TenantApp]]:
    """`await make_app("shop")` creates an app through the API and returns its id and keys."""

    async def make(name: str = "shop") -> TenantApp:
        response = await client.post("/v1/apps", json={"name": name}, headers=admin_headers)
        assert response.status_code == 201, response.text
        body = response.json()
        return TenantApp(body["id"], body["name"], body["server_key"], body["client_key"])

    return make
