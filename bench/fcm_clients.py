"""FCM client throughput against one simulator: each function returns requests per second.

Both clients send the same message (POST /v1/projects/<id>/messages:send, a
notification with data, OAuth2 bearer token) with `concurrency` workers sharing
`n` requests, after a short warm-up that opens connections and fetches the
access token. A run with any failed send raises, so a figure is never the speed
of failing fast.

    python bench/fcm_clients.py --requests 20000 --concurrency 300 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from pyreqwest.client import ClientBuilder

from pushwise.domain.clock import SystemClock
from pushwise.domain.fcm_message import render_fcm
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.providers.base import Dispatch
from pushwise.providers.fcm import FcmCredentials, build_fcm_provider
from pushwise.providers.google_oauth import AccessTokens, ServiceAccount
from pushwise.simulators.fcm import FcmSimulatorHandle, start_fcm_simulator

WARM_UP = 200
SPEC = NotificationSpec(
    content=Content(title="Order shipped", body="Your parcel is on its way", data={"order": 42}),
    ttl_seconds=3600,
)


def device_token(i: int) -> str:
    return f"bench_{i:040d}"


async def _drive(send: Callable[[int], Awaitable[bool]], n: int, concurrency: int) -> float:
    """Warm up, then time `n` sends spread over `concurrency` workers."""
    await asyncio.gather(*(send(n + i) for i in range(WARM_UP)))
    pending = iter(range(n))
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for i in pending:
            failures += not await send(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{failures} of {n} sends failed")
    return n / elapsed


async def measure_fcm_raw(sim: FcmSimulatorHandle, n: int, concurrency: int) -> float:
    """One bare pyreqwest client (one HTTP/2 connection) posting pre-rendered bodies: the ceiling."""
    account = ServiceAccount.from_json(sim.service_account)
    tokens = AccessTokens(account, SystemClock(), ca_file=sim.ca_file)
    headers = {"authorization": await tokens.bearer(), "content-type": "application/json"}
    await tokens.close()
    builder = ClientBuilder().http2_prior_knowledge().timeout(timedelta(seconds=30))
    if sim.ca_file:
        builder = builder.add_root_certificate_pem(Path(sim.ca_file).read_bytes())  # noqa: ASYNC240 (once, at set-up)
    client = builder.build()
    url = f"{sim.endpoint}/v1/projects/{sim.project_id}/messages:send"
    bodies = [render_fcm(SPEC, device_token(i), now=0.0, expires_at=None) for i in range(n + WARM_UP)]

    async def send(i: int) -> bool:
        response = await client.post(url).headers(headers).body_bytes(bodies[i]).build().send()
        await response.bytes()
        return response.status == 200

    try:
        return await _drive(send, n, concurrency)
    finally:
        await client.close()


async def measure_fcm_provider(
    sim: FcmSimulatorHandle, n: int, concurrency: int, connections: int = 2
) -> float:
    """`FcmProvider.send`: render, quota, OAuth token, send, classify, on the default transport."""
    credentials = FcmCredentials(sim.service_account, endpoint=sim.endpoint, ca_file=sim.ca_file)
    provider = build_fcm_provider(credentials, SystemClock(), connections=connections, timeout=30.0)

    async def send(i: int) -> bool:
        dispatch = Dispatch(i, "bench", "n1", "fcm", device_token(i), SPEC, None, 1)
        return (await provider.send(dispatch)).is_success

    try:
        return await _drive(send, n, concurrency)
    finally:
        await provider.close()


async def _main(requests: int, concurrency: int, tls: bool, rounds: int) -> None:
    """Interleave the clients for `rounds` rounds and print each one's median: the machine is shared."""
    sim = start_fcm_simulator(tls=tls, seed=1)
    try:
        clients = {
            "bare pyreqwest, 1 connection": lambda: measure_fcm_raw(sim, requests, concurrency),
            "FcmProvider, 1 connection": lambda: measure_fcm_provider(sim, requests, concurrency, 1),
            "FcmProvider, 2 connections": lambda: measure_fcm_provider(sim, requests, concurrency, 2),
        }
        rates: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(rounds):
            for name, measure in clients.items():
                sim.reset()
                rates[name].append(await measure())
    finally:
        sim.stop()
    ceiling = statistics.median(rates["bare pyreqwest, 1 connection"])
    print(f"{requests} requests, concurrency {concurrency}, tls={tls}, median of {rounds} interleaved rounds")
    print(f"{'client':<32}{'req/s':>10}{'of raw':>10}   rounds")
    for name, values in rates.items():
        median = statistics.median(values)
        runs = " ".join(f"{v:.0f}" for v in values)
        print(f"{name:<32}{median:>10.0f}{median / ceiling:>10.0%}   {runs}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-tls", action="store_true")
    args = parser.parse_args()
    asyncio.run(_main(args.requests, args.concurrency, not args.no_tls, args.rounds))
