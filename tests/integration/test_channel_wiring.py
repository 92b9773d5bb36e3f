"""The channel factories as wired in production: an undeliverable push lands in the real inbox."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from sqlalchemy import select

from pushwise.delivery.channels import UserChannels, channel_credentials, provider_factories
from pushwise.delivery.engine import AcceptRequest, Engine
from pushwise.delivery.providers import ProviderRegistry
from pushwise.delivery.worker import WorkerOptions
from pushwise.domain.china.vendors import VENDORS
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, Fallback, NotificationSpec
from pushwise.store import migrate
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.db import open_database
from pushwise.store.inbox_feed import InboxFeed
from pushwise.store.notifications import Target
from pushwise.store.schema import inbox_items
from pushwise.store.sealing import Sealer
from pushwise.store.users import UserRepository

SECRET = b"wiring-test-secret-key-0123456789"


async def test_a_user_without_devices_gets_the_notification_in_the_inbox(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/wiring.db"
    await asyncio.to_thread(migrate.upgrade, url)
    db = open_database(url)
    clock = ManualClock(start=time.time())
    credentials = CredentialRepository(db, clock, Sealer(SECRET))
    factories = provider_factories(
        clock, timeout=5.0, user_channels=UserChannels(db, SECRET, "http://127.0.0.1:8080", InboxFeed())
    )
    assert set(factories) == {"apns", "fcm", "webpush", "inbox", "email", "webhook", *VENDORS}
    registry = ProviderRegistry(channel_credentials(credentials.get), factories, clock)
    engine = Engine(
        db, registry, clock, random.Random(1), worker_options=WorkerOptions(), default_ttl_seconds=3600
    )
    try:
        app_id = (await AppRepository(db, clock).create_with_keys("shop")).app.id
        await UserRepository(db, clock).upsert(app_id, "ann", {})
        spec = NotificationSpec(
            Content(title="Order shipped", body="Arrives Tuesday"),
            fallback=Fallback(channels=("email", "inbox")),  # no e-mail configured: passed over at send
        )
        accepted = await engine.accept(app_id, AcceptRequest(spec, Target(user_ids=("ann",))))
        assert accepted.recipients == 1
        worker = engine.worker()
        for _ in range(3):
            while await worker.run_once():
                pass
        rows = await engine.notifications.deliveries(app_id, accepted.id, state=None, after_id=0, limit=10)
        assert [(r.channel, r.state, r.last_reason) for r in rows] == [
            ("email", "fallback", "ProviderNotConfigured"),
            ("inbox", "delivered", None),
        ]
        async with db.read.connect() as conn:
            items = list(await conn.execute(select(inbox_items)))
        assert [(i.title, i.body, i.notification_id) for i in items] == [
            ("Order shipped", "Arrives Tuesday", accepted.id)
        ]
    finally:
        await engine.close()
        await db.dispose()
