"""The engine driven in-process (no HTTP) on a simulated clock, against the real APNs simulator.

Time only moves when the test says so: backoff, Retry-After and expiry are walked
through by advancing the clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pushwise.bootstrap import Services, build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.delivery.worker import DeliveryWorker
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store import migrate
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from tests.integration.apns_app import app_sending_to

pytestmark = pytest.mark.integration

LIVE = "a1" * 32
DEAD = "dead" + "b2" * 30


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorHandle]:
    # JWTs are minted on the simulated clock, so the simulator must not judge their age by its own.
    with start_apns_simulator(
        tls=True, seed=11, workdir=str(tmp_path_factory.mktemp("apns")), faults={"token_max_age_s": None}
    ) as sim:
        yield sim


@dataclass
class Rig:
    services: Services
    clock: ManualClock
    worker: DeliveryWorker
    app_id: str
    devices: dict[str, str]
    simulator: ApnsSimulatorHandle

    async def send(self, token: str, *, ttl: int | None = None) -> str:
        spec = NotificationSpec(
            Content(title="Order shipped", body="Your boots are on their way"), ttl_seconds=ttl
        )
        accepted = await self.services.engine.accept(
            self.app_id, AcceptRequest(spec, Target(device_ids=(self.devices[token],)))
        )
        return accepted.id

    async def delivery(self, notification_id: str) -> object:
        rows = await self.services.engine.notifications.deliveries(
            self.app_id, notification_id, state=None, after_id=0, limit=10
        )
        assert len(rows) == 1
        return rows[0]


@pytest.fixture
async def rig(tmp_path: Path, simulator: ApnsSimulatorHandle) -> AsyncIterator[Rig]:
    url = f"sqlite:///{tmp_path}/engine.db"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key="test-secret-key-for-sealing-credentials",
        allow_private_endpoints=True,
        retry_base_seconds=10,
        retry_cap_seconds=60,
        retry_max_attempts=3,
    )
    clock = ManualClock(start=time.time())
    services = build_services(settings, clock=clock, rng=random.Random(42))
    app_id = await app_sending_to(services, simulator)
    registered = await DeviceRepository(services.db, clock).register_many(
        app_id, [DeviceRegistration("ios", LIVE), DeviceRegistration("ios", DEAD)]
    )
    simulator.reset()
    simulator.set_faults({"token_max_age_s": None})
    yield Rig(
        services,
        clock,
        services.engine.worker(),
        app_id,
        {r.device.token: r.device.id for r in registered},
        simulator,
    )
    await services.close()


async def test_delivered_first_time(rig: Rig) -> None:
    notification_id = await rig.send(LIVE)
    assert await rig.worker.run_once() == 1
    delivery = await rig.delivery(notification_id)
    assert (delivery.state, delivery.attempts) == ("delivered", 1)
    assert rig.simulator.token_counts()[LIVE]["delivered"] == 1


async def test_retry_after_is_honoured_then_delivered(rig: Rig) -> None:
    rig.simulator.set_faults(
        {"token_max_age_s": None, "reasons": {"ServiceUnavailable": 1.0}, "retry_after_seconds": 120}
    )
    notification_id = await rig.send(LIVE)
    assert await rig.worker.run_once() == 1
    delivery = await rig.delivery(notification_id)
    assert (delivery.state, delivery.last_reason, delivery.last_status) == (
        "retrying",
        "ServiceUnavailable",
        503,
    )
    assert delivery.due_at >= rig.clock.now() + 120

    rig.clock.advance(119)
    assert await rig.worker.run_once() == 0  # Apple asked for two minutes; we wait them out

    rig.simulator.set_faults({"token_max_age_s": None})
    rig.clock.advance(2)
    assert await rig.worker.run_once() == 1
    delivery = await rig.delivery(notification_id)
    assert (delivery.state, delivery.attempts) == ("delivered", 2)


async def test_backoff_then_dead_letter_after_the_last_attempt(rig: Rig) -> None:
    rig.simulator.set_faults({"token_max_age_s": None, "reasons": {"InternalServerError": 1.0}})
    notification_id = await rig.send(LIVE)
    for attempt in (1, 2, 3):
        rig.clock.advance(61)  # the backoff cap: the next try is always due by now
        assert await rig.worker.run_once() == 1, f"attempt {attempt} was not due"
    delivery = await rig.delivery(notification_id)
    assert (delivery.state, delivery.attempts, delivery.last_reason) == ("failed", 3, "InternalServerError")
    rig.clock.advance(3600)
    assert await rig.worker.run_once() == 0


async def test_expiry_stops_retries(rig: Rig) -> None:
    rig.simulator.set_faults(
        {"token_max_age_s": None, "reasons": {"TooManyRequests": 1.0}, "retry_after_seconds": 200}
    )
    notification_id = await rig.send(LIVE, ttl=300)
    assert await rig.worker.run_once() == 1
    rig.clock.advance(201)
    assert await rig.worker.run_once() == 1  # second try; the third would land after expiry
    delivery = await rig.delivery(notification_id)
    assert (delivery.state, delivery.attempts) == ("expired", 2)


async def test_expired_before_first_try_is_never_sent(rig: Rig) -> None:
    notification_id = await rig.send(LIVE, ttl=30)
    rig.clock.advance(31)
    assert await rig.worker.run_once() == 1
    delivery = await rig.delivery(notification_id)
    assert (delivery.state, delivery.attempts) == ("expired", 0)
    assert LIVE not in rig.simulator.token_counts()


async def test_dead_token_prunes_the_device_for_good(rig: Rig) -> None:
    rig.simulator.set_faults({"token_max_age_s": None, "dead_token_prefix": "dead"})
    notification_id = await rig.send(DEAD)
    assert await rig.worker.run_once() == 1
    delivery = await rig.delivery(notification_id)
    assert (delivery.state, delivery.last_reason, delivery.last_status) == ("failed", "Unregistered", 410)
    device = await DeviceRepository(rig.services.db, rig.clock).get(rig.app_id, rig.devices[DEAD])
    assert device is not None
    assert (device.active, device.deactivated_reason, device.deactivated_at) == (
        False,
        "Unregistered",
        rig.clock.now(),
    )
    again = await rig.send(DEAD)
    assert (await rig.services.engine.notifications.get(rig.app_id, again)).recipients == 0
    assert rig.simulator.token_counts()[DEAD]["received"] == 1
