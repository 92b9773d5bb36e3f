"""APNs client throughput against one simulator: each function returns requests per second.

Every client sends the same request (POST /3/device/<token>, alert payload, token
auth) with `concurrency` workers sharing `n` requests, after a short warm-up that
opens its connections. The bare clients put on the wire exactly the headers
pushwise's provider does, a distinct `apns-id` per request included (unique values
cost HPACK work on both ends), but get them ready-made before the clock starts.
A run with any non-200 answer raises, so a figure is never the speed of failing fast.

    python bench/apns_clients.py --requests 20000 --concurrency 300
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import orjson
from aioapns import APNs, NotificationRequest, PushType
from aioapns.connection import APNsProductionClientProtocol
from pyreqwest.client import ClientBuilder

from pushwise.domain.apns_message import apns_id_for, render_shared
from pushwise.domain.clock import SystemClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.providers.apns import ApnsCredentials, build_apns_provider
from pushwise.providers.apns_auth import ProviderTokens
from pushwise.providers.base import Dispatch
from pushwise.providers.http2.h2_transport import H2Transport
from pushwise.providers.http2.options import ConnectionOptions
from pushwise.providers.http2.pyreqwest_transport import PyreqwestTransport
from pushwise.providers.transport import Http2Transport
from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator

WARM_UP = 200
MESSAGE = {"aps": {"alert": {"title": "Order shipped", "body": "Your parcel is on its way"}}}
PAYLOAD = orjson.dumps(MESSAGE)
SPEC = NotificationSpec(content=Content(**MESSAGE["aps"]["alert"]))
EXPIRES_AT = float(int(time.time()) + 3600)


def device_token(i: int) -> str:
    return f"{i:064x}"


def simulator_provider(sim: ApnsSimulatorHandle) -> dict[str, str]:
    """The body of `PUT /v1/apps/{id}/providers/apns` that points an app at the simulator."""
    return {
        "team_id": sim.team_id,
        "key_id": sim.key_id,
        "private_key": sim.private_key_pem,
        "topic": sim.topic,
        "environment": "development",
        "endpoint": sim.endpoint,
        "ca_file": sim.ca_file,
    }


async def _drive(send: Callable[[int], Awaitable[int]], n: int, concurrency: int) -> float:
    """Warm up, then time `n` sends spread over `concurrency` workers."""
    await asyncio.gather(*(send(n + i) for i in range(WARM_UP)))
    pending = iter(range(n))
    failures: list[int] = []

    async def worker() -> None:
        for i in pending:
            status = await send(i)
            if status != 200:
                failures.append(status)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} of {n} requests failed, e.g. status {failures[0]}")
    return n / elapsed


def _request_headers(sim: ApnsSimulatorHandle, count: int) -> list[dict[str, str]]:
    """Per request, the headers `ApnsProvider.send` sends for delivery `i` of `SPEC`."""
    tokens = ProviderTokens(
        team_id=sim.team_id, key_id=sim.key_id, private_key_pem=sim.private_key_pem, clock=SystemClock()
    )
    shared = {
        **render_shared(SPEC, topic=sim.topic, expires_at=EXPIRES_AT).headers,
        "authorization": tokens.bearer(),
    }
    return [{**shared, "apns-id": apns_id_for(i)} for i in range(count)]


async def measure_pyreqwest_raw(sim: ApnsSimulatorHandle, n: int, concurrency: int) -> float:
    """One bare pyreqwest client (one HTTP/2 connection): the ceiling our transport wraps."""
    builder = ClientBuilder().http2_prior_knowledge().timeout(timedelta(seconds=30))
    if sim.ca_file:
        builder = builder.add_root_certificate_pem(Path(sim.ca_file).read_bytes())  # noqa: ASYNC240 (once, at set-up)
    client = builder.build()
    headers = _request_headers(sim, n + WARM_UP)
    base = f"{sim.endpoint}/3/device/"

    async def send(i: int) -> int:
        response = (
            await client.post(base + device_token(i)).headers(headers[i]).body_bytes(PAYLOAD).build().send()
        )
        await response.bytes()
        return response.status

    try:
        return await _drive(send, n, concurrency)
    finally:
        await client.close()


async def _measure_transport(
    transport: Http2Transport, sim: ApnsSimulatorHandle, n: int, concurrency: int
) -> float:
    headers = _request_headers(sim, n + WARM_UP)
    base = f"{sim.endpoint}/3/device/"

    async def send(i: int) -> int:
        response = await transport.request(
            "POST", base + device_token(i), headers=headers[i], body=PAYLOAD, timeout=30.0
        )
        return response.status

    try:
        return await _drive(send, n, concurrency)
    finally:
        await transport.close()


def _options(sim: ApnsSimulatorHandle, connections: int) -> ConnectionOptions:
    return ConnectionOptions(
        connections=connections, ca_file=sim.ca_file, prior_knowledge=sim.endpoint.startswith("http://")
    )


async def measure_pyreqwest_transport(
    sim: ApnsSimulatorHandle, n: int, concurrency: int, connections: int = 2
) -> float:
    """pushwise's pyreqwest transport alone (lanes, stream caps, error mapping)."""
    return await _measure_transport(PyreqwestTransport(_options(sim, connections)), sim, n, concurrency)


async def measure_h2_raw(sim: ApnsSimulatorHandle, n: int, concurrency: int, connections: int = 2) -> float:
    """The minimal asyncio + `h2` client (pushwise's fallback transport)."""
    return await _measure_transport(H2Transport(_options(sim, connections)), sim, n, concurrency)


async def measure_pushwise_client(
    sim: ApnsSimulatorHandle, n: int, concurrency: int, connections: int = 2
) -> float:
    """`ApnsProvider.send`: render, authorise, send, classify, on the default transport."""
    credentials = ApnsCredentials(
        topic=sim.topic,
        team_id=sim.team_id,
        key_id=sim.key_id,
        private_key_pem=sim.private_key_pem,
        endpoint=sim.endpoint,
        ca_file=sim.ca_file,
    )
    provider = build_apns_provider(credentials, SystemClock(), connections=connections, timeout=30.0)
    dispatches = [
        Dispatch(i, "bench", "n", "apns", device_token(i), SPEC, EXPIRES_AT, 1) for i in range(n + WARM_UP)
    ]

    async def send(i: int) -> int:
        outcome = await provider.send(dispatches[i])
        return outcome.provider_status or 0

    try:
        return await _drive(send, n, concurrency)
    finally:
        await provider.close()


async def measure_aioapns(sim: ApnsSimulatorHandle, n: int, concurrency: int, connections: int = 2) -> float:
    """aioapns with its host swapped for the simulator's (it hard-codes Apple's hosts and port 443)."""
    if not sim.endpoint.startswith("https://"):
        raise ValueError("aioapns speaks TLS only")
    host, port = sim.endpoint.removeprefix("https://").split(":")

    class SimulatorProtocol(APNsProductionClientProtocol):
        APNS_SERVER = host
        APNS_PORT = int(port)

    context = ssl.create_default_context(cafile=sim.ca_file)
    context.set_alpn_protocols(["h2"])
    client = APNs(
        key=sim.private_key_pem,
        key_id=sim.key_id,
        team_id=sim.team_id,
        topic=sim.topic,
        max_connections=connections,
        ssl_context=context,
    )
    client.pool.protocol_class = SimulatorProtocol

    async def send(i: int) -> int:
        request = NotificationRequest(
            device_token=device_token(i),
            message=MESSAGE,
            notification_id=str(uuid.uuid4()),
            push_type=PushType.ALERT,
        )
        result = await client.send_notification(request)
        return int(result.status)

    try:
        return await _drive(send, n, concurrency)
    finally:
        for connection in list(client.pool.connections):
            connection.close()


async def _main(n: int, concurrency: int) -> None:
    sim = start_apns_simulator(tls=True, seed=1, engine="granian")
    try:
        for name, measure in [
            ("pyreqwest, bare client", measure_pyreqwest_raw),
            ("pushwise pyreqwest transport", measure_pyreqwest_transport),
            ("pushwise ApnsProvider.send", measure_pushwise_client),
            ("pushwise h2 fallback transport", measure_h2_raw),
            ("aioapns", measure_aioapns),
        ]:
            rate = await measure(sim, n, concurrency)
            print(f"{name:34} {rate:10.0f} req/s", flush=True)
            sim.reset()
    finally:
        sim.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=300)
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.requests, arguments.concurrency))
