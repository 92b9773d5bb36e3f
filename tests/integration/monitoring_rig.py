"""A simulated-clock rig for monitoring tests: engine, APNs simulator, webhook receiver.

Time moves only when a test advances it; `tick` sends a little traffic, runs the
worker until nothing is due, flushes the counts and evaluates the alert rules,
as the monitoring loops would.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pushwise.bootstrap import Services, build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.delivery.worker import DeliveryWorker
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.monitoring.sinks import AlertMessage
from pushwise.settings import Settings
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store import migrate
from pushwise.store.apps import AppRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from tests.integration.apns_app import apns_public

from .conftest import serve_app


async def never_leader() -> bool:
    """Background loops must not evaluate alongside the test's own steps."""
    return False


@dataclass
class WebhookReceiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)

    def of(self, alert: str, state: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.received if m["alert"] == alert and (state is None or m["state"] == state)]


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver("")

    async def hook(request: Request) -> Response:
        receiver.received.append(await request.json())
        return Response(status_code=204)

    async with serve_app(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as base:  # type: ignore[arg-type]
        receiver.url = f"{base}/hook"
        yield receiver


@dataclass
class MonitoringRig:
    services: Services
    clock: ManualClock
    worker: DeliveryWorker
    app_id: str
    simulator: ApnsSimulatorHandle
    hook: WebhookReceiver
    server_key: str
    sent: list[AlertMessage] = field(default_factory=list)

    async def devices(self, count: int, prefix: str = "a1") -> list[str]:
        rows = [
            DeviceRegistration("ios", prefix + secrets.token_hex(31 - len(prefix) // 2)) for _ in range(count)
        ]
        registered = await DeviceRepository(self.services.db, self.clock).register_many(self.app_id, rows)
        return [r.device.id for r in registered]

    async def send(self, device_ids: list[str]) -> str:
        spec = NotificationSpec(Content(title="Order shipped", body="On its way"))
        accepted = await self.services.engine.accept(
            self.app_id, AcceptRequest(spec, Target(device_ids=tuple(device_ids)))
        )
        return accepted.id

    async def drain(self) -> None:
        for _ in range(20):  # bounded: a delivery held back to "now" would be claimed again at once
            if not await self.worker.run_once():
                break
        await self.services.monitoring.tally.flush()

    async def evaluate(self) -> list[AlertMessage]:
        messages = await self.services.monitoring.evaluator.evaluate()
        self.sent.extend(messages)
        return messages

    async def tick(self, seconds: float, traffic: int = 0, prefix: str = "a1") -> list[AlertMessage]:
        self.clock.advance(seconds)
        if traffic:
            await self.send(await self.devices(traffic, prefix))
        await self.drain()
        return await self.evaluate()


@asynccontextmanager
async def monitoring_rig(tmp_path: Path, simulator: ApnsSimulatorHandle) -> AsyncIterator[MonitoringRig]:
    url = f"sqlite:///{tmp_path}/monitoring.db"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key="monitoring-tests-secret-key-0123456789",
        allow_private_endpoints=True,
        retry_base_seconds=2,
        retry_cap_seconds=10,
        retry_max_attempts=50,
    )
    clock = ManualClock(start=time.time())
    services = build_services(settings, clock=clock, rng=random.Random(5))
    services.monitoring.is_leader = never_leader
    app = await AppRepository(services.db, clock).create_with_keys("shop")
    await services.monitoring.credentials.put(
        app.app.id, "apns", apns_public(simulator), {"private_key": simulator.private_key_pem}
    )
    simulator.reset()
    simulator.set_faults({"token_max_age_s": None})
    simulator.set_outage(False)
    try:
        async with webhook_receiver() as hook:
            await services.monitoring.alerts.put_sinks(
                app.app.id, [{"type": "webhook", "url": hook.url}], clock.now()
            )
            yield MonitoringRig(
                services, clock, services.engine.worker(), app.app.id, simulator, hook, app.server_key.secret
            )
    finally:
        await services.close()
