"""A delivery's log lines carry its app, notification and delivery ids (JSON via structlog)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog

from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.delivery.providers import ProviderRegistry
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import Outcome
from pushwise.monitoring.logs import configure_logging
from pushwise.providers.base import Dispatch, Provider
from pushwise.settings import Settings
from pushwise.store import migrate
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import StoredCredentials
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target

pytestmark = pytest.mark.integration


class BrokenProvider:
    """A provider with a bug: the worker must log it with the delivery's ids and retry later."""

    channel = "apns"

    async def send(self, dispatch: Dispatch) -> Outcome:
        raise RuntimeError("bug in a provider")

    async def close(self) -> None:
        return None


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


async def test_provider_failure_is_logged_with_the_delivery_ids(
    tmp_path: Path, restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/logs.db"
    await asyncio.to_thread(migrate.upgrade, url)
    configure_logging("info")  # after capsys took stderr, so the JSON lines land in it
    clock = ManualClock()

    async def credentials(_app: str, _channel: str) -> StoredCredentials:
        return StoredCredentials({}, {}, 1.0)

    def broken(_public: dict[str, Any], _secret: dict[str, Any]) -> Provider:
        return BrokenProvider()

    registry = ProviderRegistry(credentials, {"apns": broken}, clock)
    services = build_services(
        Settings(database_url=url, secret_key="log-test-secret-key-0123456789"),
        clock=clock,
        rng=random.Random(1),
        registry=registry,
    )
    try:
        app_id = (await AppRepository(services.db, clock).create_with_keys("shop")).app.id
        [registered] = await DeviceRepository(services.db, clock).register_many(
            app_id, [DeviceRegistration("ios", "ab" * 32)]
        )
        accepted = await services.engine.accept(
            app_id,
            AcceptRequest(NotificationSpec(Content(title="Hi")), Target(device_ids=(registered.device.id,))),
        )
        assert await services.engine.worker().run_once() == 1
    finally:
        await services.close()
    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [failure] = [line for line in lines if line["event"].startswith("provider apns raised")]
    assert failure["level"] == "error"
    assert (failure["app_id"], failure["notification_id"]) == (app_id, accepted.id)
    assert isinstance(failure["delivery_id"], int)
    assert "bug in a provider" in failure["exception"]
