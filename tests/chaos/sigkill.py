"""SIGKILL scenarios on PostgreSQL: processes die with no warning while pushes go out.

The APNs simulator counts what it receives per device token, so afterwards every
accepted delivery can be checked against the provider's own count: lost (accepted,
never received) must be 0; repeats (received more than once) are what at-least-once
delivery costs and are reported. Each scenario returns its figures; the CI test
(`test_sigkill.py`) runs them small, `bench/chaos.py` runs them big.

- `kill_mid_campaign`: one notification to every device, two workers; a worker is
  killed once a share of the deliveries is recorded (30% for the first kill), restarted,
  killed again further on.
- `kill_under_load`: a steady stream of notifications (each to its own devices) while a
  worker, or `pushwise serve` (API and workers in one process), is killed and restarted
  at a steady interval. Through `serve` the load comes over HTTP with an
  `Idempotency-Key`, retried until answered, as a careful client sends.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from pushwise.store.sealing import Sealer
from tests.integration.apns_app import apns_public
from tests.integration.pg_databases import fresh_postgres

SECRET = "chaos-sigkill-secret-0123456789abcdef"
PENDING = ("queued", "sending", "retrying")


@dataclass
class Figures:
    scenario: str
    accepted: int = 0  # deliveries the system said it took (202 or an in-process accept)
    kills: int = 0
    lost: int = 0  # accepted, and never received by the provider or not recorded delivered
    repeats: int = 0  # receptions beyond the first, over all tokens
    max_received: int = 0  # the most any one token received
    seconds: float = 0.0
    recorded_at_kills: list[int] = field(default_factory=list)  # deliveries recorded when each kill struck


@dataclass
class World:
    url: str
    simulator: ApnsSimulatorHandle
    app_id: str
    server_key: str
    devices: list[tuple[str, str]]  # (device id, token)
    workdir: Path

    def settings(self) -> Settings:
        return Settings(
            database_url=self.url,
            secret_key=SECRET,
            secret_key_file=str(self.workdir / "key"),
            db_pool_size=2,
        )

    def env(self, *, lease_seconds: float, batch_size: int | None) -> dict[str, str]:
        env = {
            **os.environ,
            "PUSHWISE_DATABASE_URL": self.url,
            "PUSHWISE_SECRET_KEY": SECRET,
            "PUSHWISE_ALLOW_PRIVATE_ENDPOINTS": "true",
            "PUSHWISE_WORKER_LEASE_SECONDS": str(lease_seconds),
            "PUSHWISE_DB_POOL_SIZE": "4",
            "PUSHWISE_LOG_LEVEL": "error",
            "PUSHWISE_MONITORING": "0",
        }
        if batch_size is not None:
            env["PUSHWISE_WORKER_BATCH_SIZE"] = str(batch_size)
        return env


@asynccontextmanager
async def world(
    postgres_server: str,
    workdir: Path,
    devices: int,
    *,
    simulator_engine: str = "auto",
    latency_ms: tuple[int, int] | None = None,
) -> AsyncIterator[World]:
    """A fresh database with an app sending to a new APNs simulator and `devices` iPhones.
    `latency_ms`: the simulator answers after this long (min, max), so sends are in flight
    when a kill strikes."""
    faults = {"latency_ms": {"min": latency_ms[0], "max": latency_ms[1]}} if latency_ms else None
    async with fresh_postgres(postgres_server, "pw_chaos_kill") as url:
        with start_apns_simulator(
            tls=True, seed=5, workdir=str(workdir / "sim"), engine=simulator_engine, faults=faults
        ) as simulator:
            services = build_services(
                Settings(database_url=url, secret_key=SECRET, secret_key_file=str(workdir / "key")),
                rng=random.Random(5),
            )
            try:
                provisioned = await AppRepository(services.db, services.clock).create_with_keys("chaos")
                app_id = provisioned.app.id
                await CredentialRepository(services.db, services.clock, Sealer(services.secret_key)).put(
                    app_id, "apns", apns_public(simulator), {"private_key": simulator.private_key_pem}
                )
                registered = []
                repository = DeviceRepository(services.db, services.clock)
                for start in range(0, devices, 5000):
                    chunk = [
                        DeviceRegistration("ios", f"{n:064x}")
                        for n in range(start, min(devices, start + 5000))
                    ]
                    registered += await repository.register_many(app_id, chunk)
            finally:
                await services.close()
            yield World(
                url,
                simulator,
                app_id,
                provisioned.server_key.secret,
                [(item.device.id, item.device.token or "") for item in registered],
                workdir,
            )


def start_worker(world: World, *, lease_seconds: float, batch_size: int | None) -> subprocess.Popen[bytes]:
    env = world.env(lease_seconds=lease_seconds, batch_size=batch_size)
    return subprocess.Popen([sys.executable, "-m", "pushwise", "worker"], env=env)


def start_serve(world: World, port: int, *, lease_seconds: float) -> subprocess.Popen[bytes]:
    env = world.env(lease_seconds=lease_seconds, batch_size=None)
    command = [sys.executable, "-m", "pushwise", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, env=env)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM (drain), then SIGKILL whatever is still there."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def counts(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        rows = await connection.fetch("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
        return {row["state"]: row["n"] for row in rows}
    finally:
        await connection.close()


async def wait_settled(world: World, accepted: int, timeout: float) -> None:
    """Until every accepted delivery has been recorded and nothing is pending."""
    deadline = time.monotonic() + timeout
    while True:
        now = await counts(world.url)
        if sum(now.values()) >= accepted and not any(now.get(state) for state in PENDING):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled after {timeout:.0f} s: {now}")
        await asyncio.sleep(0.1)


async def tally(world: World, figures: Figures, accepted_tokens: list[str]) -> Figures:
    """Compare what was accepted with what the provider received and what was recorded."""
    received = await world.simulator.atoken_counts()
    per_token = [received.get(token, {}).get("received", 0) for token in accepted_tokens]
    states = await counts(world.url)
    not_delivered = sum(n for state, n in states.items() if state != "delivered")
    figures.accepted = len(accepted_tokens)
    figures.lost = sum(1 for n in per_token if n == 0) + not_delivered
    figures.repeats = sum(n - 1 for n in per_token if n > 1)
    figures.max_received = max(per_token, default=0)
    return figures


async def kill_mid_campaign(
    world: World,
    *,
    kills: int = 1,
    workers: int = 2,
    first_at: float = 0.3,
    lease_seconds: float = 5.0,
    batch_size: int | None = None,
    timeout: float = 300.0,
) -> Figures:
    """One notification to every device; a worker SIGKILLed when `first_at` of it is recorded,
    restarted, and killed again at evenly spaced shares up to 90%."""
    figures = Figures("sigkill-worker-mid-campaign")
    processes = [
        start_worker(world, lease_seconds=lease_seconds, batch_size=batch_size) for _ in range(workers)
    ]
    began = time.monotonic()
    try:
        await asyncio.sleep(2.0)  # the workers are up and idle: the campaign is not sent by one alone
        services = build_services(world.settings())
        try:
            spec = NotificationSpec(Content(title="Flash sale", body="Today only"))
            accepted = await services.engine.accept(world.app_id, AcceptRequest(spec, Target(everyone=True)))
        finally:
            await services.close()
        total = accepted.recipients
        step = (0.9 - first_at) / kills if kills > 1 else 0.0
        for number in range(kills):
            threshold = int(total * (first_at + number * step))
            while (recorded := (await counts(world.url)).get("delivered", 0)) < threshold:
                if time.monotonic() - began > timeout:
                    raise AssertionError(f"{recorded} of {total} delivered after {timeout:.0f} s")
                await asyncio.sleep(0.02)
            kill(processes[0])
            figures.kills += 1
            figures.recorded_at_kills.append(recorded)
            processes[0] = start_worker(world, lease_seconds=lease_seconds, batch_size=batch_size)
        await wait_settled(world, total, timeout)
        figures.seconds = time.monotonic() - began
    finally:
        stop(processes)
    return await tally(world, figures, [token for _, token in world.devices])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def kill_under_load(
    world: World,
    *,
    target: str,
    kills: int,
    interval: float,
    per_notification: int = 10,
    lease_seconds: float = 3.0,
    timeout: float = 300.0,
) -> Figures:
    """Notifications at a steady pace for `(kills + 1) * interval` seconds, each to its own
    `per_notification` devices; every `interval` seconds the target ("worker": one of two
    `pushwise worker`s; "serve": the one `pushwise serve`) is SIGKILLed and restarted."""
    if target not in ("worker", "serve"):
        raise ValueError(f"unknown target {target!r}")
    figures = Figures(f"sigkill-{target}-under-load")
    slices = [world.devices[i : i + per_notification] for i in range(0, len(world.devices), per_notification)]
    duration = (kills + 1) * interval
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        if target == "serve":
            return start_serve(world, port, lease_seconds=lease_seconds)
        return start_worker(world, lease_seconds=lease_seconds, batch_size=None)

    processes = [start()] if target == "serve" else [start(), start()]
    accepted_tokens: list[str] = []
    began = time.monotonic()
    try:
        await asyncio.sleep(2.0)
        send = http_sender(world, port) if target == "serve" else engine_sender(world)
        async with send as accept:

            async def load() -> None:
                for number, devices in enumerate(slices):
                    await _pace(began + 2.0 + duration * number / len(slices))
                    if await accept(number, [device for device, _ in devices]):
                        accepted_tokens.extend(token for _, token in devices)

            loader = asyncio.create_task(load())
            for _ in range(kills):
                await asyncio.sleep(interval)
                figures.recorded_at_kills.append((await counts(world.url)).get("delivered", 0))
                kill(processes[0])
                figures.kills += 1
                processes[0] = start()
            await loader
        await wait_settled(world, len(accepted_tokens), timeout)
        figures.seconds = time.monotonic() - began
    finally:
        stop(processes)
    return await tally(world, figures, accepted_tokens)


async def _pace(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


Accept = Callable[[int, list[str]], Awaitable[bool]]


@asynccontextmanager
async def engine_sender(world: World) -> AsyncIterator[Accept]:
    """Accepts in this process, straight into the database (an API process's job)."""
    services = build_services(world.settings())
    spec = NotificationSpec(Content(title="Steady", body="load"))

    async def accept(number: int, device_ids: list[str]) -> bool:
        request = AcceptRequest(spec, Target(device_ids=tuple(device_ids)))
        return (await services.engine.accept(world.app_id, request)).recipients > 0

    try:
        yield accept
    finally:
        await services.close()


@asynccontextmanager
async def http_sender(world: World, port: int) -> AsyncIterator[Accept]:
    """Accepts through `serve`'s API, retrying with the same `Idempotency-Key` until answered."""
    headers = {"Authorization": f"Bearer {world.server_key}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=5.0) as client:

        async def accept(number: int, device_ids: list[str]) -> bool:
            body = {"to": {"device_ids": device_ids}, "content": {"title": "Steady", "body": "load"}}
            deadline = time.monotonic() + 60.0
            while time.monotonic() < deadline:
                try:
                    answer = await client.post(
                        "/v1/notifications", json=body, headers={"Idempotency-Key": f"load-{number}"}
                    )
                except httpx.HTTPError:  # the server is down (killed): try again as it comes back
                    await asyncio.sleep(0.1)
                    continue
                if answer.status_code == 202:
                    return True
                if answer.status_code < 500 and answer.status_code != 429:
                    raise AssertionError(f"refused: {answer.status_code} {answer.text}")
                await asyncio.sleep(0.1)
            return False

        yield accept
