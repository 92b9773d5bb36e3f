"""The user-event log on both engines: the same profile from the same events, however they arrive,
each event stored once even when concurrent batches repeat it, and what the engine sends counted."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pushwise.bootstrap import Services, build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.store.apps import AppRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from pushwise.store.profiles import ProfileReader
from pushwise.store.schema import user_engagement, user_events
from pushwise.store.user_events import NewEvent, UserEventLog
from pushwise.store.users import UserRepository
from tests.integration.pg_databases import fresh_store

pytestmark = pytest.mark.integration

DAY = 86_400.0
KINDS = ["item_viewed", "added_to_cart", "purchased", "opened", "clicked", "not_interested", "app_open"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def services(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        settings = Settings(database_url=url, secret_key="user-event-log-secret-0123456789", db_pool_size=8)
        built = build_services(settings, clock=ManualClock(), rng=random.Random(3))
        try:
            yield built
        finally:
            await built.close()


def random_events(seed: int, now: float, count: int = 400) -> list[NewEvent]:
    rng = random.Random(seed)
    return [
        NewEvent(
            index=i,
            key=f"k{i}",
            type=rng.choice(KINDS),
            user=f"u{rng.randrange(12)}",
            at=now - rng.uniform(0, 6.5 * DAY),
            category=rng.choice(["shoes", "books", "tea", None]),
            value=rng.choice([None, 12.5]),
        )
        for i in range(count)
    ]


async def profiles(services: Services, app_id: str, now: float) -> dict[str, object]:
    reader = ProfileReader(services.db, services.audience.learning)
    users = UserRepository(services.db, services.clock)
    found = {}
    for n in range(12):
        user = await users.get(app_id, f"u{n}")
        if user is not None:
            learned = await reader.learned(user.id, now)
            found[user.external_id] = (
                {k: round(v, 9) for k, v in learned.raw_interests.items()},
                learned.engagement,
                round(learned.open_propensity, 9),
                user.last_active_at,
                user.first_seen_at,
            )
    return found


async def test_any_arrival_order_and_batching_gives_the_same_profiles(services: Services) -> None:
    apps = AppRepository(services.db, services.clock)
    one = (await apps.create_with_keys("one")).app.id
    other = (await apps.create_with_keys("other")).app.id
    log = UserEventLog(services.db, services.audience.learning, late_window=7 * DAY)
    now = services.clock.now()
    events = random_events(1, now)
    assert (await log.ingest(one, events, now)).accepted == len(events)
    shuffled = list(events)
    random.Random(2).shuffle(shuffled)
    for start in range(0, len(shuffled), 37):
        await log.ingest(other, shuffled[start : start + 37], now)
    await log.ingest(other, shuffled[:50], now)  # resent: teaches nothing
    assert await profiles(services, one, now + DAY) == await profiles(services, other, now + DAY)


async def test_concurrent_batches_repeating_events_store_each_once(services: Services) -> None:
    app_id = (await AppRepository(services.db, services.clock).create_with_keys("shop")).app.id
    log = UserEventLog(services.db, services.audience.learning, late_window=7 * DAY)
    now = services.clock.now()
    events = random_events(5, now, 600)
    results = await asyncio.gather(*(log.ingest(app_id, events, now) for _ in range(5)))
    assert sum(result.accepted for result in results) == 600
    assert sum(result.duplicates for result in results) == 4 * 600
    async with services.db.read.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(user_events)) == 600
    single = (await AppRepository(services.db, services.clock).create_with_keys("single")).app.id
    await log.ingest(single, events, now)
    assert await profiles(services, app_id, now) == await profiles(services, single, now)


async def test_engine_sends_and_deliveries_count_into_engagement(services: Services) -> None:
    app_id = (await AppRepository(services.db, services.clock).create_with_keys("shop")).app.id
    await DeviceRepository(services.db, services.clock).register_many(
        app_id, [DeviceRegistration("ios", "aa" * 32, user_external_id="u1")]
    )
    spec = NotificationSpec(content=Content(title="hi"))
    accepted = await services.engine.accept(app_id, AcceptRequest(spec, Target(user_ids=("u1",))))
    assert accepted.recipients == 1
    # No APNs credentials: the attempt fails as a configuration error, still a send that was tried.
    while await services.engine.worker().run_once():
        pass
    await services.audience_upkeep.recorder.flush()
    async with services.db.read.connect() as conn:
        rows = (await conn.execute(select(user_engagement.c.day, user_engagement.c.sent))).all()
    assert sorted(sent for _day, sent in rows) == [1, 1]  # today and all time
