"""A failure notice planned by the API is sent at once by the process's running worker, on SQLite
too (no PostgreSQL wake-up signal there): the worker is woken, it does not wait for its next poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from pushwise.bootstrap import Services
from pushwise.delivery.service import WorkerService
from pushwise.settings import Settings
from pushwise.store.users import UserRepository
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY, TenantApp

pytestmark = pytest.mark.integration

# Far longer than the test may take: a notice sent before the test ends was sent because of a wake-up.
POLL_SECONDS = 3600.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'pushwise.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        secret_key_file=str(tmp_path / "pushwise.key"),
        allow_private_endpoints=True,
        worker_poll_seconds=POLL_SECONDS,
    )


@pytest.fixture
async def running_worker(services: Services) -> AsyncIterator[WorkerService]:
    """A worker running in the API's process, as under `pushwise serve`."""
    service = WorkerService(services.engine.worker())
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def failure_notices(client: httpx.AsyncClient, app: TenantApp, user: str) -> list[str]:
    inbox = await client.get(f"/v1/users/{user}/inbox", headers=app.server_headers)
    assert inbox.status_code == 200, inbox.text
    return [i["title"] for i in inbox.json()["items"] if i["data"].get("pushwise") == "failure_notice"]


async def test_a_notice_planned_by_the_api_wakes_the_running_worker(
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
    services: Services,
    running_worker: WorkerService,
) -> None:
    shop = await make_app("shop")
    registered = await client.post(
        "/v1/devices",
        json={"platform": "ios", "token": "a1" * 32, "user_id": "ann"},
        headers=shop.server_headers,
    )
    assert registered.status_code in (200, 201), registered.text
    ann = await UserRepository(services.db, services.clock).get(shop.id, "ann")
    assert ann is not None
    # By now (several requests later) the worker's first claim found nothing: it waits for the doorbell.

    with services.inbox_feed.subscribe(shop.id, ann.id) as inbox_changed:
        denied = await client.patch(
            f"/v1/devices/{registered.json()['id']}",
            json={"push_permission": "denied"},
            headers=shop.server_headers,
        )
        assert denied.status_code == 200, denied.text
        # The deadline is far below the poll interval: only a wake-up can have sent the notice.
        async with asyncio.timeout(30):
            await inbox_changed.wait()
    assert await failure_notices(client, shop, "ann") == ["Notifications from shop are turned off"]
