"""Throughput per China vendor: a bare client of its protocol, pushwise's adapter, pushwise end to end.

All three run in one invocation against one simulator process per vendor, so the
ratios are what count on a shared machine. End to end is a real `pushwise serve` on a
fresh SQLite file: `--devices` Android devices registered with that vendor's tokens, one
notification to all of them, timed from acceptance to the last recorded outcome (both
stamped by the server). Rounds interleave the measurements; medians are printed.

    python bench/bench_china.py --devices 20000 --rounds 3 [--vendors huawei,xiaomi]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from bench_apns import FINAL, PushwiseServer
from china_clients import measure_adapter, measure_bare, token_of

from pushwise.domain.china.vendors import VENDORS
from pushwise.simulators.china.harness import VendorSimulatorHandle, start_vendor_simulator
from pushwise.simulators.handle import free_port

BATCH = 500  # what one worker claim (PUSHWISE_WORKER_BATCH_SIZE default) hands the adapter
CONCURRENCY = 4  # the worker's batch loops


async def end_to_end(sim: VendorSimulatorHandle, devices: int, workdir: str) -> float:
    server = PushwiseServer(workdir, free_port())
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            await server.wait_ready(client)
            admin = {"authorization": f"Bearer {server.admin_key}"}
            app = (await client.post(f"{server.base}/v1/apps", json={"name": "bench"}, headers=admin)).json()
            headers = {"authorization": f"Bearer {app['server_key']}"}
            put = await client.put(
                f"{server.base}/v1/apps/{app['id']}/providers/{sim.vendor}",
                json=sim.provider_config(),
                headers=headers,
            )
            put.raise_for_status()
            for start in range(0, devices, 1000):
                batch = [
                    {"platform": "android", "vendor": sim.vendor, "token": token_of(sim.vendor, start + n)}
                    for n in range(min(1000, devices - start))
                ]
                (
                    await client.post(
                        f"{server.base}/v1/devices:batch", headers=headers, json={"devices": batch}
                    )
                ).raise_for_status()
            accepted = (
                await client.post(
                    f"{server.base}/v1/notifications",
                    headers=headers,
                    json={"to": {"all": True}, "content": {"title": "Order shipped", "body": "On its way"}},
                )
            ).json()
            while True:
                counts = (
                    await client.get(f"{server.base}/v1/notifications/{accepted['id']}", headers=headers)
                ).json()["counts"]
                if sum(counts[s] for s in FINAL) >= accepted["recipients"]:
                    break
                await asyncio.sleep(0.5)
    finally:
        server.stop()
    with sqlite3.connect(server.db_path) as db:
        span, delivered = db.execute(
            "SELECT max(outcome_at) - min(accepted_at), sum(state = 'delivered')"
            " FROM deliveries WHERE notification_id = ?",
            (accepted["id"],),
        ).fetchone()
    if delivered != devices:
        raise RuntimeError(f"{sim.vendor}: {delivered} of {devices} delivered end to end")
    return float(devices / span)


async def bench_vendor(vendor: str, devices: int, rounds: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"bare": [], "adapter": [], "end_to_end": []}
    # The server's real clock: OPPO's and vivo's signed timestamps are checked as for real.
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-{vendor}-") as workdir,
        start_vendor_simulator(vendor, workdir=f"{workdir}/sim") as sim,
    ):
        for round_number in range(rounds):
            await sim.areset()
            figures["bare"].append(await measure_bare(sim, devices, BATCH, CONCURRENCY))
            await sim.areset()
            figures["adapter"].append(await measure_adapter(sim, devices, BATCH, CONCURRENCY))
            await sim.areset()
            run_dir = Path(f"{workdir}/e2e-{round_number}")
            await asyncio.to_thread(run_dir.mkdir)
            figures["end_to_end"].append(await end_to_end(sim, devices, str(run_dir)))
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vendors", default=",".join(VENDORS))
    args = parser.parse_args()
    print(f"{args.devices} devices per run, {args.rounds} rounds, batch {BATCH}, {CONCURRENCY} in flight")
    print(
        f"{'vendor':8} {'bare tokens/s':>14} {'adapter':>10} {'end to end':>11}"
        f" {'adapter/bare':>13} {'e2e/bare':>9}"
    )
    for vendor in args.vendors.split(","):
        started = time.perf_counter()
        f = await bench_vendor(vendor, args.devices, args.rounds)
        bare, adapter, e2e = (statistics.median(f[k]) for k in ("bare", "adapter", "end_to_end"))
        print(
            f"{vendor:8} {bare:14,.0f} {adapter:10,.0f} {e2e:11,.0f} {adapter / bare:13.2f} {e2e / bare:9.2f}"
            f"   (e2e rounds: {', '.join(f'{v:,.0f}' for v in f['end_to_end'])};"
            f" {time.perf_counter() - started:.0f} s)"
        )


if __name__ == "__main__":
    asyncio.run(main())
