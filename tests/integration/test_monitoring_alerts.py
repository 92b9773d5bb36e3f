"""Every default alert fires under an injected fault, reaches a webhook, repeats and resolves.

The engine runs in-process on a simulated clock against the real APNs simulator;
alerts are evaluated on that clock, so detection times are exact, not slept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle

from .monitoring_rig import MonitoringRig, apns_public, monitoring_rig

pytestmark = pytest.mark.integration
SHORT_REPEAT = 60.0  # the defaults repeat after 15 min to a day; tests keep the defaults' thresholds


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(
        tls=True, seed=3, workdir=str(tmp_path_factory.mktemp("apns")), faults={"token_max_age_s": None}
    ) as sim:
        yield sim


@pytest.fixture
async def rig(tmp_path: Path, simulator: ApnsSimulatorHandle) -> AsyncIterator[MonitoringRig]:
    async with monitoring_rig(tmp_path, simulator) as opened:
        rules = [
            {"name": name, "repeat_seconds": SHORT_REPEAT}
            for name in (
                "success_rate",
                "throttled_or_unavailable",
                "dead_token_surge",
                "queue_lag",
                "circuit_open",
                "credentials",
            )
        ]
        await opened.services.monitoring.alerts.put_rules(opened.app_id, rules, opened.clock.now())
        yield opened


async def run_until(
    rig: MonitoringRig,
    alert: str,
    state: str,
    *,
    limit: float,
    step: float = 5.0,
    traffic: int = 2,
    prefix: str = "a1",
) -> float:
    """Advance in steps with traffic until `alert` reaches the webhook in `state`; returns seconds taken."""
    waited = 0.0
    while not rig.hook.of(alert, state):
        assert waited < limit, f"{alert} not {state} after {waited} s: {rig.hook.received}"
        await rig.tick(step, traffic, prefix)
        waited += step
    return waited


async def test_total_outage_is_detected_within_a_minute_and_resolved_after_recovery(
    rig: MonitoringRig,
) -> None:
    for _ in range(6):  # a healthy minute first
        await rig.tick(10, traffic=3)
    assert rig.hook.received == []
    await rig.simulator.aset_outage(True)
    detected = await run_until(rig, "success_rate", "firing", limit=60)
    assert detected <= 60
    await run_until(rig, "throttled_or_unavailable", "firing", limit=60)
    await run_until(rig, "circuit_open", "firing", limit=60)
    firing = rig.hook.of("success_rate", "firing")[0]
    assert firing["app_id"] == rig.app_id
    assert firing["subject"] == "apns"
    assert firing["value"] < firing["threshold"] == 0.8
    assert "FIRING" in firing["text"]
    assert "success_rate" in firing["text"]
    # still failing a minute later: repeated, once
    for _ in range(int(SHORT_REPEAT / 10) + 1):
        await rig.tick(10, traffic=2)
    assert len(rig.hook.of("success_rate", "firing")) == 2
    assert rig.hook.of("success_rate", "firing")[1]["repeat"] is True
    await rig.simulator.aset_outage(False)
    recovered = await run_until(rig, "success_rate", "resolved", limit=300)
    assert recovered <= 300
    await run_until(rig, "throttled_or_unavailable", "resolved", limit=300)
    await run_until(rig, "circuit_open", "resolved", limit=300)
    resolved = rig.hook.of("success_rate", "resolved")[0]
    assert resolved["started_at"] == firing["started_at"]
    assert "RESOLVED" in resolved["text"]
    history = await rig.services.monitoring.alerts.events(app_id=rig.app_id, state="resolved")
    assert {e.rule for e in history} >= {"success_rate", "throttled_or_unavailable", "circuit_open"}


async def test_dead_token_surge(rig: MonitoringRig) -> None:
    rig.simulator.set_faults({"token_max_age_s": None, "dead_token_prefix": "dead"})
    await run_until(rig, "dead_token_surge", "firing", limit=300, step=10, traffic=4, prefix="dead")
    pruned = await rig.services.monitoring.rollups.recent(rig.clock.now() - 300, app_id=rig.app_id)
    assert any(row.key.event == "pruned" for row in pruned)
    for _ in range(int(SHORT_REPEAT / 10) + 1):
        await rig.tick(10, traffic=4, prefix="dead")
    assert len(rig.hook.of("dead_token_surge", "firing")) == 2
    await run_until(rig, "dead_token_surge", "resolved", limit=600, step=10, traffic=6)


async def test_queue_lag(rig: MonitoringRig) -> None:
    await rig.send(await rig.devices(3))
    rig.clock.advance(130)  # nothing claims them: no worker ran
    await rig.evaluate()
    assert rig.hook.of("queue_lag", "firing")[0]["value"] >= 120
    rig.clock.advance(SHORT_REPEAT)
    await rig.evaluate()
    assert len(rig.hook.of("queue_lag", "firing")) == 2
    await rig.tick(1)  # the worker drains the queue
    assert rig.hook.of("queue_lag", "resolved")


async def test_invalid_credentials_fire_and_resolve_when_replaced(rig: MonitoringRig) -> None:
    monitoring = rig.services.monitoring
    await monitoring.credentials.put(
        rig.app_id, "apns", apns_public(rig.simulator), {"private_key": "-----BEGIN PRIVATE KEY-----\nbroken"}
    )
    await monitoring.check_credentials()
    await rig.evaluate()
    firing = rig.hook.of("credentials", "firing")
    assert firing
    assert "not a readable PEM" in firing[0]["summary"]
    rig.clock.advance(SHORT_REPEAT)
    await rig.evaluate()
    assert len(rig.hook.of("credentials", "firing")) == 2
    await monitoring.credentials.put(
        rig.app_id, "apns", apns_public(rig.simulator), {"private_key": rig.simulator.private_key_pem}
    )
    await monitoring.check_credentials()
    await rig.evaluate()
    assert rig.hook.of("credentials", "resolved")
    health = await monitoring.alerts.health(rig.app_id)
    assert [(h.channel, h.status) for h in health] == [("apns", "ok")]
