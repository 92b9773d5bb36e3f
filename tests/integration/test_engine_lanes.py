"""Priority lanes: a transactional notification overtakes a large marketing campaign."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from pushwise.delivery.engine import AcceptRequest
from pushwise.delivery.worker import WorkerOptions
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from tests.integration.engine_rig import Rig, rig_fixture

pytestmark = pytest.mark.integration

CAMPAIGN_SIZE = 20_000


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path):
        yield made


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 120.0) -> None:
    """Poll the database (its state changes in another task's transactions) until `condition` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_transactional_is_sent_long_before_the_campaign_finishes(rig: Rig) -> None:
    devices = DeviceRepository(rig.services.db, rig.clock)
    await devices.register_many(
        rig.app_id, [DeviceRegistration("ios", f"{i:064x}") for i in range(CAMPAIGN_SIZE)]
    )
    vip = (await rig.user("vip", {"f" * 64: "ios"}))["f" * 64]
    engine = rig.services.engine
    campaign = await engine.accept(
        rig.app_id,
        AcceptRequest(NotificationSpec(Content(title="Sale", body="20% off")), Target(everyone=True)),
    )
    rig.providers["apns"].latency = 0.005  # every send takes a while, as over a real network
    worker = engine.worker(options=WorkerOptions(batch_size=200, concurrency=2, poll_seconds=0.01))
    running = asyncio.create_task(worker.run())
    try:

        async def campaign_started() -> bool:
            return (await engine.notifications.counts(campaign.id))["delivered"] > 0

        await wait_for(campaign_started)
        receipt = await engine.accept(
            rig.app_id,
            AcceptRequest(
                NotificationSpec(
                    Content(title="Code", body="Your login code is 123456"), priority="transactional"
                ),
                Target(device_ids=(vip,)),
            ),
        )

        async def receipt_delivered() -> bool:
            return (await engine.notifications.counts(receipt.id))["delivered"] == 1

        await wait_for(receipt_delivered)
        campaign_counts = await engine.notifications.counts(campaign.id)
        still_pending = campaign_counts["queued"] + campaign_counts["sending"] + campaign_counts["retrying"]
        assert still_pending > CAMPAIGN_SIZE // 2, campaign_counts
    finally:
        await worker.stop()
        await running
