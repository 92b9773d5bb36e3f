"""Circuits and provider connections across processes sharing one database.

Two engines stand for two `pushwise` processes (say an API process that leads
monitoring and a worker that sends): each has its own circuit board and providers,
they share the database and one simulated clock, and each publishes what it knows
with its monitoring flush, as the background loop would every 2 s.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.delivery.providers import ProviderRegistry
from pushwise.delivery.worker import DeliveryWorker
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store.apps import AppRepository
from pushwise.store.circuits import EndpointReports
from pushwise.store.credentials import StoredCredentials
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from tests.integration.apns_app import app_sending_to
from tests.integration.engine_rig import ScriptedProvider, failing
from tests.integration.pg_databases import fresh_store

pytestmark = pytest.mark.integration

SPEC = NotificationSpec(Content(title="Shop", body="Back in stock"))
STALE = 6.0  # three flushes of 2 s
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Process:
    services: Services
    provider: ScriptedProvider
    worker: DeliveryWorker

    async def flush(self) -> None:
        await self.services.monitoring.flush()

    async def drain(self) -> None:
        while await self.worker.run_once():
            pass

    async def scrape(self) -> Samples:
        transport = httpx.ASGITransport(app=create_app(self.services))
        async with httpx.AsyncClient(transport=transport, base_url="http://pushwise") as http:
            response = await http.get("/metrics")
        assert response.status_code == 200
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }


def settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        secret_key="cluster-circuit-tests-secret-key-0123456789",
        allow_private_endpoints=True,
        retry_base_seconds=10,
        retry_cap_seconds=60,
        retry_max_attempts=3,
    )


def scripted_process(url: str, clock: ManualClock, seed: int) -> Process:
    provider = ScriptedProvider("apns")

    async def load(app_id: str, channel: str) -> StoredCredentials | None:
        return StoredCredentials({}, {}, 1.0) if channel == "apns" else None

    registry = ProviderRegistry(load, {"apns": lambda public, secret: provider}, clock)
    services = build_services(settings(url), clock=clock, rng=random.Random(seed), registry=registry)
    return Process(services, provider, services.engine.worker())


@dataclass
class Cluster:
    clock: ManualClock
    leader: Process  # answers scrapes and evaluates alerts; the worker sends
    worker: Process
    app_id: str

    async def send(self, process: Process, tokens: list[str]) -> str:
        registered = await DeviceRepository(process.services.db, self.clock).register_many(
            self.app_id, [DeviceRegistration("ios", t) for t in tokens]
        )
        target = Target(device_ids=tuple(r.device.id for r in registered))
        return (await process.services.engine.accept(self.app_id, AcceptRequest(SPEC, target))).id

    async def open_worker_circuit(self) -> None:
        self.worker.provider.answer = failing(OutcomeKind.CONFIGURATION, "BadTopic", 400)
        await self.send(self.worker, ["a1" * 32])
        await self.worker.drain()
        assert self.worker.services.engine.circuits.states() == {(self.app_id, "apns"): "open"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        clock = ManualClock(start=time.time())
        leader, worker = scripted_process(url, clock, 1), scripted_process(url, clock, 2)
        app_id = (await AppRepository(leader.services.db, clock).create_with_keys("shop")).app.id
        try:
            yield Cluster(clock, leader, worker, app_id)
        finally:
            for process in (leader, worker):
                await process.services.close()


def circuit(samples: Samples, app_id: str, state: str) -> float | None:
    return samples.get(
        ("pushwise_circuit_state", frozenset({("app", app_id), ("channel", "apns"), ("state", state)}))
    )


async def test_a_workers_open_circuit_shows_in_the_leaders_metrics_and_alerts(cluster: Cluster) -> None:
    await cluster.open_worker_circuit()
    assert circuit(await cluster.leader.scrape(), cluster.app_id, "open") is None  # not published yet

    await cluster.worker.flush()
    samples = await cluster.leader.scrape()
    assert circuit(samples, cluster.app_id, "open") == 1.0
    assert circuit(samples, cluster.app_id, "closed") == 0.0

    messages = await cluster.leader.services.monitoring.evaluator.evaluate()
    assert [(m.alert, m.subject, m.state) for m in messages if m.alert == "circuit_open"] == [
        ("circuit_open", "apns", "firing")
    ]
    assert cluster.leader.services.engine.circuits.states() == {}  # the leader itself never sent


async def test_reports_of_a_silent_or_stopped_process_stop_counting(cluster: Cluster) -> None:
    await cluster.open_worker_circuit()
    await cluster.worker.flush()
    cluster.clock.advance(STALE + 1)  # the worker died right after its flush
    assert circuit(await cluster.leader.scrape(), cluster.app_id, "open") is None

    await cluster.worker.flush()  # it was only slow
    assert circuit(await cluster.leader.scrape(), cluster.app_id, "open") == 1.0
    await cluster.worker.services.monitoring.endpoints.withdraw()  # a clean stop
    assert circuit(await cluster.leader.scrape(), cluster.app_id, "open") is None


async def test_another_process_holds_its_sends_until_the_open_circuit_cools_down(cluster: Cluster) -> None:
    await cluster.open_worker_circuit()
    await cluster.worker.flush()
    await cluster.leader.flush()  # learns of the open circuit and adopts it
    assert cluster.leader.services.engine.circuits.states() == {(cluster.app_id, "apns"): "open"}
    reports = await EndpointReports(cluster.leader.services.db).fresh_circuits(fresh_after=0.0)
    assert {r.owner for r in reports} == {cluster.worker.services.monitoring.endpoints.owner}  # no echo

    notification_id = await cluster.send(cluster.leader, ["b2" * 32])
    await cluster.leader.drain()
    assert cluster.leader.provider.sent == []  # held, not attempted
    (row,) = await cluster.leader.services.engine.notifications.deliveries(
        cluster.app_id, notification_id, state=None, after_id=0, limit=10
    )
    (worker_report,) = reports
    assert (row.state, row.attempts, row.due_at) == ("queued", 0, worker_report.until)

    cluster.clock.advance(worker_report.until - cluster.clock.now())  # the cool-down is over
    await cluster.leader.drain()  # this process probes for itself, and the endpoint works for it
    # ...so it sends its own delivery and the one the worker held (they share one queue).
    assert len(cluster.leader.provider.sent) == 2
    assert notification_id in {dispatch.notification_id for dispatch in cluster.leader.provider.sent}
    counts = await cluster.leader.services.engine.notifications.counts(notification_id)
    assert counts["delivered"] == 1
    assert cluster.leader.services.engine.circuits.states() == {}


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorHandle]:
    # The h2 engine records every connection it accepts.
    with start_apns_simulator(
        tls=True,
        seed=9,
        engine="h2",
        workdir=str(tmp_path_factory.mktemp("apns")),
        faults={"token_max_age_s": None},
    ) as sim:
        yield sim


def opened(simulator: ApnsSimulatorHandle) -> int:
    """Connections the simulator has accepted (each control request, this one too, opens its own)."""
    stats: dict[str, Any] = simulator.stats()
    return int(stats["connection_events"].get("opened", 0))


async def test_provider_connections_are_counted_across_processes(
    tmp_path: Path, simulator: ApnsSimulatorHandle
) -> None:
    async with fresh_store("sqlite", None, tmp_path) as url:
        clock = ManualClock(start=time.time())
        sender = build_services(settings(url), clock=clock, rng=random.Random(3))
        scraper = scripted_process(url, clock, 4)
        try:
            app_id = await app_sending_to(sender, simulator, "shop")
            registered = await DeviceRepository(sender.db, clock).register_many(
                app_id, [DeviceRegistration("ios", f"{i:02x}" * 32) for i in range(40)]
            )
            before = opened(simulator)
            await sender.engine.accept(
                app_id, AcceptRequest(SPEC, Target(device_ids=tuple(r.device.id for r in registered)))
            )
            worker = sender.engine.worker()
            while await worker.run_once():
                pass
            connected = opened(simulator) - before - 1  # less this stats request's own
            assert connected >= 1
            assert await sender.monitoring.endpoints.connections() == {(app_id, "apns"): connected}

            await sender.monitoring.flush()
            labels = frozenset({("app", app_id), ("channel", "apns")})
            assert (await scraper.scrape())[("pushwise_provider_connections", labels)] == connected

            await sender.engine.close()  # its connections are gone...
            await sender.monitoring.flush()  # ...and its next report says so
            assert ("pushwise_provider_connections", labels) not in await scraper.scrape()
        finally:
            await sender.close()
            await scraper.services.close()
