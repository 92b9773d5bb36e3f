"""The user-event log on both engines: the same profile from the same events, however they arrive,
each event stored once even when concurrent batches repeat it, what the engine sends counted, and
raw events pruned by the leader past their retention while the profiles learned from them stay."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pushwise.bootstrap import Services, build_services
from pushwise.delivery.engagement import AudienceUpkeep
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


async def _upkeep_checks(services: Services, *, leader: bool, checks: int = 3) -> None:
    """Run the upkeep's loops (pruning due at once) until they asked `checks` times who leads.

    The prune loop runs a job, then sleeps, then asks again: by the last question every prune
    the answers allowed has finished. Progress is counted, never timed."""
    asked = 0
    enough = asyncio.Event()

    async def is_leader() -> bool:
        nonlocal asked
        asked += 1
        if asked >= checks:
            enough.set()
        return leader

    upkeep = AudienceUpkeep(
        services.audience_upkeep.recorder,
        services.db,
        services.clock,
        services.audience,
        is_leader,
        flush_seconds=3600.0,
        prune_seconds=0.001,
        popularity_seconds=3600.0,
    )
    await upkeep.start()
    try:
        await asyncio.wait_for(enough.wait(), timeout=60)
    finally:
        await upkeep.stop()


async def _event_keys(services: Services) -> set[str]:
    async with services.db.read.connect() as conn:
        return set((await conn.scalars(select(user_events.c.event_key))).all())


async def test_the_leader_prunes_raw_events_past_retention_and_profiles_stay(services: Services) -> None:
    app_id = (await AppRepository(services.db, services.clock).create_with_keys("shop")).app.id
    log = UserEventLog(services.db, services.audience.learning, late_window=7 * DAY)
    retention, clock = services.audience.retention, services.clock
    old = random_events(11, clock.now(), 150)
    await log.ingest(app_id, old, clock.now())
    clock.advance(retention - 10 * DAY)
    newer = [replace(e, key=f"new-{e.key}") for e in random_events(12, clock.now(), 150)]
    await log.ingest(app_id, newer, clock.now())
    clock.advance(20 * DAY)  # the first batch is 10 days past retention, the second 10 days inside
    now = clock.now()
    learned = await profiles(services, app_id, now)
    everything = {e.key for e in old} | {e.key for e in newer}
    assert await _event_keys(services) == everything

    await _upkeep_checks(services, leader=False)  # a follower never prunes
    assert await _event_keys(services) == everything

    await _upkeep_checks(services, leader=True)
    assert await _event_keys(services) == {e.key for e in newer}
    assert await profiles(services, app_id, now) == learned
    assert len(learned) == 12  # every user's profile is still there

    # Called directly (what the leader's loop runs), it finds nothing more to prune.
    events_pruned, _days = await services.audience_upkeep.prune()
    assert events_pruned == 0
