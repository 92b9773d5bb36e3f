"""The Grafana dashboard and the Prometheus alerting rules read only what pushwise exports.

A small delivery run (deliveries, an outage with retries, dead tokens, a firing alert, a
certificate) makes every metric family show series; the test scrapes `/metrics` during and
after it and checks every metric and label the queries use against the scrapes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.simulators.china.harness import VendorSimulatorHandle, start_vendor_simulator
from pushwise.store.apps import AppRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from tests.promql_usage import Usage, dashboard_usage, rules_usage

from .monitoring_rig import MonitoringRig, monitoring_rig
from .test_api_providers import certificate
from .test_monitoring_metrics import asgi_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(
        tls=True, seed=11, workdir=str(tmp_path_factory.mktemp("apns")), faults={"token_max_age_s": None}
    ) as sim:
        yield sim


@pytest.fixture(scope="module")
def xiaomi() -> Iterator[VendorSimulatorHandle]:
    handle = start_vendor_simulator("xiaomi")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
async def rig(tmp_path: Path, simulator: ApnsSimulatorHandle) -> AsyncIterator[MonitoringRig]:
    async with monitoring_rig(tmp_path, simulator) as opened:
        yield opened


async def exported(rig: MonitoringRig) -> Usage:
    """Metric (sample) name -> the label names its series carry, in one scrape."""
    async with asgi_client(rig) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    found: Usage = defaultdict(set)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[sample.name] |= set(sample.labels)
    return found


async def delivery_run(rig: MonitoringRig, xiaomi: VendorSimulatorHandle) -> Usage:
    """What a scrape sees during an outage and after recovery, together."""
    cert, key = certificate(rig.clock.now(), days=300)  # another app: certificates report their expiry
    other = await AppRepository(rig.services.db, rig.clock).create_with_keys("certified")
    await rig.services.monitoring.credentials.put(
        other.app.id,
        "apns",
        {"auth": "certificate", "topic": rig.simulator.topic, "environment": "development"},
        {"certificate": cert, "certificate_key": key},
    )
    await rig.services.monitoring.check_credentials()
    rig.simulator.set_faults({"token_max_age_s": None, "dead_token_prefix": "dead"})

    await rig.simulator.aset_outage(True)  # retries, a circuit with failures, a firing success_rate
    await rig.send(await rig.devices(6))
    await rig.tick(1)
    assert [m.alert for m in rig.sent] == ["success_rate"]
    during = await exported(rig)

    await rig.simulator.aset_outage(False)
    await rig.send(await rig.devices(3, prefix="dead"))  # dead letters and pruned tokens
    await rig.tick(60)
    await spend_vendor_quota(rig, xiaomi)
    await rig.tick(60)
    after = await exported(rig)
    return {name: during.get(name, set()) | after.get(name, set()) for name in {*during, *after}}


async def spend_vendor_quota(rig: MonitoringRig, xiaomi: VendorSimulatorHandle) -> None:
    """Xiaomi refuses a second marketing push to a phone today: counted as a spent quota."""
    config = xiaomi.provider_config()
    secret = {"app_secret": config.pop("app_secret")}
    await rig.services.monitoring.credentials.put(rig.app_id, "xiaomi", config, secret)
    await xiaomi.aset_faults({"marketing_per_device_day": 1})
    registration = DeviceRegistration("android", "xiaomi-token-" + "1" * 20, vendor="xiaomi")
    [registered] = await DeviceRepository(rig.services.db, rig.clock).register_many(
        rig.app_id, [registration]
    )
    await rig.send([registered.device.id])
    await rig.send([registered.device.id])


def unmet(usage: Usage, scraped: Usage) -> dict[str, set[str]]:
    """Metrics a query reads that no scrape showed, or labels they never carried."""
    return {
        metric: labels - scraped.get(metric, set())
        for metric, labels in usage.items()
        if metric not in scraped or labels - scraped[metric]
    }


async def test_every_metric_and_label_the_dashboard_and_rules_read_is_exported(
    rig: MonitoringRig, xiaomi: VendorSimulatorHandle
) -> None:
    scraped = await delivery_run(rig, xiaomi)
    # the run exercised every family, so a missing name below is a real mismatch, not a quiet run
    assert {name for name in scraped if name.startswith("pushwise_")} >= set(dashboard_usage())
    assert unmet(dashboard_usage(), scraped) == {}
    assert unmet(rules_usage(), scraped) == {}


def test_a_renamed_label_would_be_caught() -> None:
    """The comparison itself: a query on a label the metric lacks is reported."""
    scraped: Usage = {"pushwise_queue_depth": {"app", "channel"}}
    assert unmet({"pushwise_queue_depth": {"app", "queue"}}, scraped) == {"pushwise_queue_depth": {"queue"}}
    assert unmet({"pushwise_queue_size": {"app"}}, scraped) == {"pushwise_queue_size": {"app"}}
