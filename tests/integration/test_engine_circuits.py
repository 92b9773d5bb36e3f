"""Circuit breakers in the engine: deliveries wait (not fail) while a provider is down, then drain."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind, delivered
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store import migrate
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from tests.integration.apns_app import app_sending_to
from tests.integration.engine_rig import Rig, failing, rig_fixture

pytestmark = pytest.mark.integration

SPEC = NotificationSpec(Content(title="Shop", body="Back in stock"))


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path):
        yield made


async def states(rig: Rig, notification_id: str) -> dict[str, int]:
    counts = await rig.services.engine.notifications.counts(notification_id)
    return {state: n for state, n in counts.items() if n}


async def test_configuration_error_holds_deliveries_and_opens_the_circuit(rig: Rig) -> None:
    await rig.user("ann", {"a1" * 32: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.CONFIGURATION, "BadTopic", 400)
    notification_id = await rig.send(SPEC, users=("ann",))
    await rig.drain(rounds=5, step=30)  # far past the retry policy's 3 attempts without a circuit
    assert await states(rig, notification_id) == {"retrying": 1}
    assert rig.services.engine.circuits.states() == {(rig.app_id, "apns"): "open"}
    assert rig.services.engine.circuits.reasons() == {(rig.app_id, "apns"): "BadTopic"}

    rig.providers["apns"].answer = lambda dispatch: delivered()  # the operator fixed the topic
    await rig.drain(rounds=12, step=30)
    assert await states(rig, notification_id) == {"delivered": 1}
    assert rig.services.engine.circuits.states() == {}


async def test_open_circuit_holds_without_counting_attempts(rig: Rig) -> None:
    tokens = {f"{i:02x}" * 32: "ios" for i in range(30)}
    await rig.user("bob", tokens)
    rig.providers["apns"].answer = failing(OutcomeKind.RETRY, "ServiceUnavailable", 503)
    notification_id = await rig.send(SPEC, users=("bob",))
    await rig.drain(rounds=1)
    assert rig.services.engine.circuits.states()[(rig.app_id, "apns")] == "open"
    sends_when_opened = len(rig.providers["apns"].sent)
    await rig.drain(rounds=20, step=20)  # the outage goes on: only probes reach the provider
    probes = len(rig.providers["apns"].sent) - sends_when_opened
    assert probes < 20
    waiting = await states(rig, notification_id)
    assert set(waiting) <= {"queued", "retrying"}
    assert sum(waiting.values()) == 30
    rows = await rig.deliveries(notification_id)
    assert max(r.attempts for r in rows) <= 1 + probes

    rig.providers["apns"].answer = lambda dispatch: delivered()
    await rig.drain(rounds=30, step=20)
    assert await states(rig, notification_id) == {"delivered": 30}


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(
        tls=True, seed=5, workdir=str(tmp_path_factory.mktemp("apns")), faults={"token_max_age_s": None}
    ) as sim:
        yield sim


async def test_simulator_outage_opens_the_circuit_and_loses_nothing(
    tmp_path: Path, simulator: ApnsSimulatorHandle
) -> None:
    url = f"sqlite:///{tmp_path}/engine.db"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key="test-secret-key-for-sealing-credentials",
        allow_private_endpoints=True,
        retry_base_seconds=5,
        retry_cap_seconds=30,
        retry_max_attempts=3,
    )
    clock = ManualClock(start=time.time())
    services = build_services(settings, clock=clock, rng=random.Random(3))
    try:
        app_id = await app_sending_to(services, simulator, "shop")
        tokens = [f"{i:02x}" * 32 for i in range(40)]
        registered = await DeviceRepository(services.db, clock).register_many(
            app_id, [DeviceRegistration("ios", t) for t in tokens]
        )
        simulator.reset()
        simulator.set_outage(True)
        accepted = await services.engine.accept(
            app_id, AcceptRequest(SPEC, Target(device_ids=tuple(r.device.id for r in registered)))
        )
        worker = services.engine.worker()
        for _ in range(8):  # the outage lasts a few simulated minutes
            while await worker.run_once():
                pass
            clock.advance(30)
        counts = await services.engine.notifications.counts(accepted.id)
        assert counts["failed"] == 0
        assert counts["delivered"] == 0
        assert services.engine.circuits.states()[(app_id, "apns")] in ("open", "half_open")

        simulator.set_outage(False)
        for _ in range(20):
            while await worker.run_once():
                pass
            clock.advance(30)
        counts = await services.engine.notifications.counts(accepted.id)
        assert counts["delivered"] == 40
        assert services.engine.circuits.states() == {}
        assert sorted(simulator.token_counts()) == sorted(tokens)
    finally:
        await services.close()


async def test_a_closed_circuit_leaves_the_retry_schedule_alone(rig: Rig) -> None:
    await rig.user("cat", {"c3" * 32: "ios"})
    rig.providers["apns"].answer = lambda dispatch: Outcome(
        OutcomeKind.RETRY, "ServiceUnavailable", 503, 30.0
    )
    notification_id = await rig.send(SPEC, users=("cat",))
    await rig.worker.run_once()
    (row,) = await rig.deliveries(notification_id)
    assert (row.state, row.attempts) == ("retrying", 1)
    assert row.due_at >= rig.clock.now() + 30  # Retry-After honoured, not held by the circuit
    assert rig.services.engine.circuits.states() == {(rig.app_id, "apns"): "closed"}
