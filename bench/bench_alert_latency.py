"""Outage-to-alert latency, wall clock: how long a total APNs outage goes unnoticed, and its recovery.

A real `pushwise serve` subprocess (see `bench_apns.PushwiseServer`) sends a trickle of
notifications to the APNs simulator; its alert sink is a webhook receiver in this
process. Each round switches the simulator's outage on, times the first `firing`
alert to reach the receiver, switches it off and times the `resolved` message of
that alert. Prints the median of `--rounds`.

    python bench/bench_alert_latency.py --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).parent))

from bench_apns import PushwiseServer

from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator


@dataclass
class Receiver:
    """Alert webhooks as they arrive: (monotonic seconds, body)."""

    url: str = ""
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    async def first(
        self, state: str, after: float, alert: str | None = None, timeout: float = 900
    ) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, body in self.received:
                if at >= after and body["state"] == state and alert in (None, body["alert"]):
                    return at, str(body["alert"])
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no {state} alert within {timeout:.0f} s")


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    caught = Receiver()

    async def hook(request: Request) -> Response:
        caught.received.append((time.monotonic(), await request.json()))
        return Response(status_code=204)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), log_level="warning")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the webhook receiver stopped before it started")
        await asyncio.sleep(0.01)
    caught.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    try:
        yield caught
    finally:
        server.should_exit = True
        await task
        sock.close()


async def trickle(
    client: httpx.AsyncClient, base: str, headers: dict[str, str], device_ids: list[str], rate: float
) -> None:
    """One notification to one device every 1/rate seconds, until cancelled."""
    body: dict[str, Any] = {"content": {"title": "Trickle", "body": "tick"}}
    start, n = time.monotonic(), 0
    pending: set[asyncio.Task[httpx.Response]] = set()
    while True:
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        request = {**body, "to": {"device_ids": [device_ids[n % len(device_ids)]]}}
        task = asyncio.create_task(client.post(f"{base}/v1/notifications", headers=headers, json=request))
        pending.add(task)
        task.add_done_callback(pending.discard)
        n += 1


async def one_round(
    sim: ApnsSimulatorHandle, hook: Receiver, healthy_seconds: float, wanted: str | None
) -> tuple[float, float, str]:
    await asyncio.sleep(healthy_seconds)  # the rule windows fill with successes first
    began = time.monotonic()
    await sim.aset_outage(True)
    fired_at, alert = await hook.first("firing", began, wanted)
    print(f"  outage on: {alert} fired after {fired_at - began:.1f} s", flush=True)
    recovered = time.monotonic()
    await sim.aset_outage(False)
    resolved_at, _ = await hook.first("resolved", recovered, alert)
    print(f"  outage off: {alert} resolved after {resolved_at - recovered:.1f} s", flush=True)
    return fired_at - began, resolved_at - recovered, alert


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rate", type=float, default=20.0, help="notifications per second during the run")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument(
        "--healthy-seconds", type=float, default=40.0, help="healthy traffic before each outage"
    )
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--alert", help="time this rule (e.g. success_rate); default: the first to fire")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="pushwise-alert-bench-")
    sim = start_apns_simulator(tls=True, seed=1, workdir=workdir, engine="granian")
    server = PushwiseServer(workdir, args.port)
    results: list[tuple[float, float, str]] = []
    try:
        async with httpx.AsyncClient(timeout=30) as client, receiver() as hook:
            await server.wait_ready(client)
            app_id, headers = await server.apns_app(client, sim)
            device_ids = []
            for n in range(args.devices):
                device = {"platform": "ios", "token": f"{n:064x}"}
                response = await client.post(f"{server.base}/v1/devices", headers=headers, json=device)
                device_ids.append(response.raise_for_status().json()["id"])
            sinks = [{"type": "webhook", "url": hook.url}]
            (
                await client.put(f"{server.base}/v1/apps/{app_id}/alert-sinks", headers=headers, json=sinks)
            ).raise_for_status()
            sending = asyncio.create_task(trickle(client, server.base, headers, device_ids, args.rate))
            try:
                for index in range(args.rounds):
                    print(f"round {index + 1}/{args.rounds}", flush=True)
                    results.append(await one_round(sim, hook, args.healthy_seconds, args.alert))
            finally:
                sending.cancel()
    finally:
        server.stop()
        sim.stop()
    fire = statistics.median(r[0] for r in results)
    resolve = statistics.median(r[1] for r in results)
    alerts = ", ".join(sorted({r[2] for r in results}))
    print(f"\nalert latency, {args.rate:g} notifications/s, median of {len(results)} round(s) ({alerts}):")
    print(f"{'outage start -> firing alert received':40} {fire:8.1f} s")
    print(f"{'recovery -> resolved alert received':40} {resolve:8.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
