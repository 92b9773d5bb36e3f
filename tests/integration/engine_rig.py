"""An in-process engine with scripted providers on a simulated clock, for reliability tests.

The providers are test doubles that answer what each test scripts per channel; the
engine, queue, database and fallback planning are the real ones.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pushwise.bootstrap import Services, build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.delivery.providers import ProviderRegistry
from pushwise.delivery.worker import DeliveryWorker
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind, delivered
from pushwise.providers.base import Dispatch, Provider
from pushwise.settings import Settings
from pushwise.store import migrate
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import StoredCredentials
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from pushwise.store.users import UserRepository

Answer = Callable[[Dispatch], Outcome]


@dataclass
class ScriptedProvider:
    """Answers each dispatch with `answer` (delivered by default) and keeps what it was sent."""

    channel: str
    answer: Answer = field(default=lambda dispatch: delivered())
    latency: float = 0.0
    sent: list[Dispatch] = field(default_factory=list)

    async def send(self, dispatch: Dispatch) -> Outcome:
        if self.latency:
            await asyncio.sleep(self.latency)
        self.sent.append(dispatch)
        return self.answer(dispatch)

    async def close(self) -> None:
        return None


def failing(kind: OutcomeKind, reason: str, status: int | None = None) -> Answer:
    return lambda dispatch: Outcome(kind, reason, status)


@dataclass
class Rig:
    services: Services
    clock: ManualClock
    worker: DeliveryWorker
    app_id: str
    providers: dict[str, ScriptedProvider]

    async def user(self, external_id: str, devices: dict[str, str] | None = None) -> dict[str, str]:
        """Create a user with devices {token: platform}; returns {token: device id}."""
        await UserRepository(self.services.db, self.clock).upsert(self.app_id, external_id, {})
        registrations = [
            DeviceRegistration(platform, token, user_external_id=external_id)
            for token, platform in (devices or {}).items()
        ]
        if not registrations:
            return {}
        registered = await DeviceRepository(self.services.db, self.clock).register_many(
            self.app_id, registrations
        )
        return {r.device.token: r.device.id for r in registered}

    async def send(self, spec: NotificationSpec, *, users: tuple[str, ...]) -> str:
        accepted = await self.services.engine.accept(self.app_id, AcceptRequest(spec, Target(user_ids=users)))
        return accepted.id

    async def drain(self, rounds: int = 20, step: float = 0.0) -> None:
        """Run batches until nothing is due, advancing the clock `step` seconds between rounds."""
        for _ in range(rounds):
            while await self.worker.run_once():
                pass
            if step:
                self.clock.advance(step)

    async def deliveries(self, notification_id: str) -> list[Any]:
        return await self.services.engine.notifications.deliveries(
            self.app_id, notification_id, state=None, after_id=0, limit=1000
        )


async def make_rig(
    tmp_path: Path,
    channels: tuple[str, ...] = ("apns", "fcm", "webpush", "inbox", "email"),
    *,
    url: str | None = None,
) -> Rig:
    """`url`: an already migrated database (e.g. PostgreSQL); default a new SQLite file."""
    if url is None:
        url = f"sqlite:///{tmp_path}/engine.db"
        await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key="test-secret-key-for-sealing-credentials",
        retry_base_seconds=10,
        retry_cap_seconds=60,
        retry_max_attempts=3,
    )
    clock = ManualClock(start=time.time())
    providers = {channel: ScriptedProvider(channel) for channel in channels}

    async def load(app_id: str, channel: str) -> StoredCredentials | None:
        return StoredCredentials({}, {}, 1.0) if channel in providers else None

    def factory_for(channel: str) -> Callable[[dict[str, Any], dict[str, Any]], Provider]:
        return lambda public, secret: providers[channel]

    registry = ProviderRegistry(load, {channel: factory_for(channel) for channel in channels}, clock)
    services = build_services(settings, clock=clock, rng=random.Random(7), registry=registry)
    app = await AppRepository(services.db, clock).create_with_keys("shop")
    return Rig(services, clock, services.engine.worker(), app.app.id, providers)


async def rig_fixture(tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await make_rig(tmp_path)
    yield rig
    await rig.services.close()
