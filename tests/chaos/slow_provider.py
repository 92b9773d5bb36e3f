"""A provider that answers in 2 s: memory stays bounded and other apps keep their pace.

One `pushwise serve`, two apps on two APNs simulators. The "steady" app sends a trickle of
notifications, one device each, for a baseline window; then the "slow" app's provider starts
answering every request after 2 s and the slow app sends a campaign to its whole audience while
the trickle goes on. The server's RSS is sampled throughout; the steady app's delivery latency
(accept to the provider's receipt) is compared between the two windows.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from tests.chaos.live_server import ChaosApp, LiveServer

RSS_GROWTH_LIMIT_MIB = 300.0  # far above what a bounded queue needs; an unbounded one crosses it


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def trickle(
    server: LiveServer, app: ChaosApp, device_ids: list[str], seconds: float, rate: float, first: int
) -> dict[int, float]:
    """One notification every 1/rate s for `seconds`; returns {sequence number: accept time}."""
    sent: dict[int, float] = {}
    n = first
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        sent[n] = time.time()
        body = {"to": {"device_ids": [device_ids[n % len(device_ids)]]}, "content": {"body": f"steady {n}"}}
        answer = await server.send(app, body)
        assert answer.status_code == 202, answer.text
        n += 1
        await asyncio.sleep(1 / rate)
    return sent


async def latencies_ms(sim: ApnsSimulatorHandle, tokens: list[str], sent: dict[int, float]) -> list[float]:
    """Accept-to-receipt time of each notification in `sent`, from what the simulator recorded."""
    found: dict[int, float] = {}
    for token in tokens:
        for request in await sim.areceived(token):
            sequence = int(request["payload"]["aps"]["alert"]["body"].split()[-1])
            if sequence in sent and request["status"] == 200:
                found.setdefault(sequence, (request["at"] - sent[sequence]) * 1000)
    assert len(found) == len(sent), f"{len(sent) - len(found)} steady notifications never arrived"
    return list(found.values())


async def sample_rss(server: LiveServer, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(server.rss_mib())
        await asyncio.sleep(0.5)


async def slow_provider(
    workdir: Path,
    *,
    slow_devices: int = 1000,
    steady_devices: int = 20,
    window_s: float = 20.0,
    rate: float = 5.0,
    slow_ms: float = 2000.0,
) -> dict[str, Any]:
    """`slow_ms=0` is the control: the same campaign to a provider that answers at once, which
    tells the cost of the campaign's own work apart from the cost of the provider's slowness."""
    with (
        start_apns_simulator(tls=True, seed=31, workdir=str(workdir / "slow")) as slow_sim,
        start_apns_simulator(tls=True, seed=32, workdir=str(workdir / "steady")) as steady_sim,
    ):
        server = LiveServer(workdir, f"sqlite:///{workdir / 'slow.db'}")
        try:
            await server.wait_ready()
            slow, steady = (
                await server.apns_app(slow_sim, "slow"),
                await server.apns_app(steady_sim, "steady"),
            )
            await server.register(slow, [f"{n:064x}" for n in range(slow_devices)])
            steady_tokens = [f"{n + 10**6:064x}" for n in range(steady_devices)]
            steady_ids = await server.register(steady, steady_tokens)
            rss: list[float] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_rss(server, rss, stop))
            baseline = await trickle(server, steady, steady_ids, window_s, rate, first=0)
            rss_before = statistics.median(rss)
            await slow_sim.aset_faults({"latency_ms": {"min": slow_ms, "max": slow_ms}})
            campaign = (await server.send(slow, {"to": {"all": True}, "content": {"body": "sale"}})).json()[
                "id"
            ]
            during = await trickle(server, steady, steady_ids, window_s, rate, first=len(baseline))
            slow_done_during = (await server.counts(slow, campaign)).get("delivered", 0)
            began = time.monotonic()
            while (await server.counts(slow, campaign)).get("delivered", 0) < slow_devices:
                assert time.monotonic() - began < 900, await server.counts(slow, campaign)
                await asyncio.sleep(0.5)
            stop.set()
            await sampler
            base_ms = await latencies_ms(steady_sim, steady_tokens, baseline)
            during_ms = await latencies_ms(steady_sim, steady_tokens, during)
        finally:
            await server.stop()
    growth = max(rss) - rss_before
    assert growth < RSS_GROWTH_LIMIT_MIB, f"RSS grew {growth:.0f} MiB"
    return {
        "slow_ms": slow_ms,
        "slow_devices": slow_devices,
        "steady_notifications_per_window": len(baseline),
        "steady_p50_ms_before": round(percentile(base_ms, 0.5), 1),
        "steady_p99_ms_before": round(percentile(base_ms, 0.99), 1),
        "steady_p50_ms_during": round(percentile(during_ms, 0.5), 1),
        "steady_p99_ms_during": round(percentile(during_ms, 0.99), 1),
        "slow_delivered_while_steady_ran": slow_done_during,
        "rss_mib_before": round(rss_before, 1),
        "rss_mib_peak": round(max(rss), 1),
    }
