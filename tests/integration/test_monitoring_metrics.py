"""`/metrics` agrees with what happened: N injected 503s are N retries, then N deliveries; a
dead letter replayed from the dashboard is still one delivery, its replay and next outcome counted apart."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from pushwise.api.app import create_app
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store.schema import deliveries

from .monitoring_rig import MonitoringRig, monitoring_rig

pytestmark = pytest.mark.integration
N = 7


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(
        tls=True, seed=4, workdir=str(tmp_path_factory.mktemp("apns")), faults={"token_max_age_s": None}
    ) as sim:
        yield sim


@pytest.fixture
async def rig(tmp_path: Path, simulator: ApnsSimulatorHandle) -> AsyncIterator[MonitoringRig]:
    async with monitoring_rig(tmp_path, simulator) as opened:
        yield opened


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def asgi_client(rig: MonitoringRig) -> httpx.AsyncClient:
    # ASGI transport: no lifespan, so no background loops; the test flushes and evaluates itself
    transport = httpx.ASGITransport(app=create_app(rig.services))
    return httpx.AsyncClient(transport=transport, base_url="http://pushwise")


async def scrape(rig: MonitoringRig) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with asgi_client(rig) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_injected_503s_are_counted_as_retries_then_deliveries(rig: MonitoringRig) -> None:
    devices = await rig.devices(N)
    await rig.send(devices)
    await rig.simulator.aset_outage(True)  # every request answers 503 ServiceUnavailable
    await rig.drain()
    queued = await scrape(rig)
    app = ("app", rig.app_id)
    assert queued[("pushwise_queue_depth", frozenset({app, ("channel", "apns")}))] == N
    await rig.simulator.aset_outage(False)
    await rig.tick(60)  # past every backoff and the circuit's cool-down
    await rig.tick(60)
    stats = await rig.simulator.astats()
    assert stats["by_status"].get("503") == N, stats
    metrics = await scrape(rig)
    labels = {app, ("channel", "apns")}
    retry = frozenset({*labels, ("outcome", "retry"), ("reason", "ServiceUnavailable")})
    assert metrics[("pushwise_attempts_total", retry)] == N
    assert metrics[("pushwise_retries_total", frozenset({*labels, ("reason", "ServiceUnavailable")}))] == N
    delivered = frozenset({*labels, ("outcome", "delivered"), ("reason", "")})
    assert metrics[("pushwise_attempts_total", delivered)] == N
    assert metrics[("pushwise_deliveries_total", delivered)] == N
    assert metrics[("pushwise_delivery_latency_seconds_count", frozenset(labels))] == N
    assert metrics[("pushwise_provider_request_seconds_count", frozenset(labels))] == 2 * N
    assert metrics.get(("pushwise_queue_depth", frozenset(labels)), 0) == 0
    assert not [key for key in metrics if key[0] == "pushwise_dead_letters_total"]


async def test_dead_tokens_are_counted_as_pruned(rig: MonitoringRig) -> None:
    rig.simulator.set_faults({"token_max_age_s": None, "dead_token_prefix": "dead"})
    await rig.send(await rig.devices(3, prefix="dead"))
    await rig.drain()
    metrics = await scrape(rig)
    pruned = frozenset({("app", rig.app_id), ("channel", "apns"), ("reason", "BadDeviceToken")})
    unregistered = frozenset({("app", rig.app_id), ("channel", "apns"), ("reason", "Unregistered")})
    assert (
        metrics.get(("pushwise_tokens_pruned_total", pruned), 0)
        + metrics.get(("pushwise_tokens_pruned_total", unregistered), 0)
        == 3
    )


async def replay_from_dashboard(rig: MonitoringRig) -> int:
    """Log in, open the dead letters and press "Replay all", as an operator would."""
    async with asgi_client(rig) as http:
        assert (await http.post("/dashboard/login", data={"key": rig.server_key})).status_code == 303
        page = (await http.get("/dashboard/dead-letters", params={"app": rig.app_id})).text
        ids = re.findall(r'id="dead-(\d+)"', page)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        form = {"csrf": csrf.group(1), "app": rig.app_id, "delivery_ids": ",".join(ids)}
        replayed = await http.post("/dashboard/dead-letters/replay", data=form)
    assert replayed.status_code == 303, replayed.text
    return int(replayed.headers["location"].rpartition("replayed=")[2])


async def test_a_replayed_dead_letter_is_still_one_delivery(
    rig: MonitoringRig,
) -> None:
    rig.simulator.set_faults({"token_max_age_s": None, "reasons": {"PayloadTooLarge": 1.0}})
    await rig.send(await rig.devices(3))
    await rig.drain()
    rig.simulator.set_faults({"token_max_age_s": None})
    assert await replay_from_dashboard(rig) == 3
    await rig.drain()

    async with rig.services.db.read.connect() as conn:
        rows = (await conn.execute(select(deliveries.c.state, deliveries.c.replays))).all()
    assert sorted(tuple(row) for row in rows) == [("delivered", 1)] * 3
    metrics = await scrape(rig)
    labels = {("app", rig.app_id), ("channel", "apns")}
    failed = frozenset({*labels, ("outcome", "failed"), ("reason", "PayloadTooLarge")})
    assert {k: v for k, v in metrics.items() if k[0] == "pushwise_deliveries_total"} == {
        ("pushwise_deliveries_total", failed): 3
    }
    assert metrics[("pushwise_dead_letters_total", frozenset({*labels, ("reason", "PayloadTooLarge")}))] == 3
    assert metrics[("pushwise_delivery_latency_seconds_count", frozenset(labels))] == 3
    assert metrics[("pushwise_replays_total", frozenset(labels))] == 3
    delivered = frozenset({*labels, ("outcome", "delivered")})
    assert {k: v for k, v in metrics.items() if k[0] == "pushwise_replayed_outcomes_total"} == {
        ("pushwise_replayed_outcomes_total", delivered): 3
    }
    # every send attempt still counts: the 3 refused, then the 3 that went through
    permanent = frozenset({*labels, ("outcome", "permanent"), ("reason", "PayloadTooLarge")})
    assert metrics[("pushwise_attempts_total", permanent)] == 3
    assert metrics[("pushwise_attempts_total", frozenset({*delivered, ("reason", "")}))] == 3
