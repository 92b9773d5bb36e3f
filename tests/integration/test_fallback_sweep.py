"""The follow-up sweep: a crash between committing outcomes and running the listeners loses no
fallback step and no failure notice, and sweeping again plans nothing twice."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select

from pushwise.delivery.fallback import FallbackPlanner
from pushwise.delivery.follow_ups import FollowUpService, FollowUpSweep, SweepOptions
from pushwise.delivery.worker import DeliveryWorker, WorkerOptions
from pushwise.domain.notification import Content, Fallback, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.serving import delivery_services
from pushwise.store.notices import NoticeRepository
from pushwise.store.schema import failure_notices, fallback_steps
from tests.integration.engine_rig import Rig, failing, rig_fixture

pytestmark = pytest.mark.integration

GRACE = SweepOptions().grace_seconds


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path):
        yield made


def spec(*channels: str) -> NotificationSpec:
    return NotificationSpec(
        Content(title="Shop", body="Your order shipped"), fallback=Fallback(channels=channels)
    )


def crashing_worker(rig: Rig) -> DeliveryWorker:
    """Records outcomes like any worker, but its process 'dies' before any listener runs."""
    engine = rig.services.engine
    return DeliveryWorker(
        engine.queue,
        engine.notifications,
        engine.providers,
        rig.clock,
        random.Random(3),
        WorkerOptions(),
        listeners=(),
        circuits=engine.circuits,
        events=engine.events,
        rates=engine.rates,
        gate=engine.gate,
    )


async def drain(worker: DeliveryWorker) -> None:
    while await worker.run_once():
        pass


async def count(rig: Rig, table: Table) -> int:
    async with rig.services.db.read.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


def inbox_sent(rig: Rig, *, notices: bool) -> list[str]:
    return [
        d.notification_id
        for d in rig.providers["inbox"].sent
        if (d.spec.content.data.get("pushwise") == "failure_notice") == notices
    ]


async def test_a_crash_before_the_listeners_is_caught_up_once(rig: Rig) -> None:
    await rig.user("ann", {"a1" * 32: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.TOKEN_DEAD, "Unregistered", 410)
    notification_id = await rig.send(spec("inbox"), users=("ann",))
    await drain(crashing_worker(rig))
    assert [(r.channel, r.state) for r in await rig.deliveries(notification_id)] == [("apns", "failed")]

    sweep = rig.services.engine.follow_ups
    too_soon = await sweep.run_once()  # within the grace period the listeners may still be at work
    assert (too_soon.fallback_steps, too_soon.notices) == (0, 0)

    rig.clock.advance(GRACE + 1)
    swept = await sweep.run_once()
    assert (swept.fallback_steps, swept.notices) == (1, 1)
    states = [(r.channel, r.state) for r in await rig.deliveries(notification_id)]
    assert states == [("apns", "fallback"), ("inbox", "queued")]

    for _ in range(2):  # sweeping again, resumed or from scratch, plans nothing more
        rig.clock.advance(GRACE + 1)
        again = await sweep.run_once()
        assert (again.fallback_steps, again.notices) == (0, 0)
    await rig.drain()
    assert inbox_sent(rig, notices=False) == [notification_id]
    assert len(inbox_sent(rig, notices=True)) == 1
    assert (await count(rig, fallback_steps), await count(rig, failure_notices)) == (1, 1)

    engine = rig.services.engine
    fresh = FollowUpSweep(
        engine.fallback,
        FallbackPlanner(engine.notifications, engine.fallback, rig.clock),
        NoticeRepository(rig.services.db),
        engine.failure_notices,
        rig.clock,
    )
    rig.clock.advance(GRACE + 1)
    after_restart = await fresh.run_once()  # a new leader looks back over the same outcomes
    assert (after_restart.fallback_steps, after_restart.notices) == (0, 0)
    assert len(await rig.deliveries(notification_id)) == 2


async def test_nothing_to_catch_up_when_the_listeners_ran(rig: Rig) -> None:
    await rig.user("bob", {"b2" * 32: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.TOKEN_DEAD, "Unregistered", 410)
    rig.providers["email"].answer = failing(OutcomeKind.PERMANENT, "MailboxUnavailable", 550)
    notification_id = await rig.send(spec("email"), users=("bob",))
    await rig.drain()
    states = [(r.channel, r.state) for r in await rig.deliveries(notification_id)]
    assert states == [("apns", "fallback"), ("email", "failed")]
    rig.clock.advance(GRACE + 1)
    swept = await rig.services.engine.follow_ups.run_once()
    assert swept.seen == 1  # the e-mail that failed: no step is left to take
    assert (swept.fallback_steps, swept.notices) == (0, 0)
    assert len(await rig.deliveries(notification_id)) == 2
    assert len(inbox_sent(rig, notices=True)) == 1


async def test_a_user_with_a_delivery_still_pending_is_left_alone(rig: Rig) -> None:
    dead, slow = "c3" * 32, "d4" * 32
    await rig.user("cat", {dead: "ios", slow: "android"})
    rig.providers["apns"].answer = failing(OutcomeKind.TOKEN_DEAD, "Unregistered", 410)
    rig.providers["fcm"].answer = failing(OutcomeKind.RETRY, "Unavailable", 503)
    notification_id = await rig.send(spec("inbox"), users=("cat",))
    worker = crashing_worker(rig)
    await drain(worker)
    rig.clock.advance(GRACE + 1)
    swept = await rig.services.engine.follow_ups.run_once()
    assert (swept.fallback_steps, swept.notices) == (0, 0)  # fcm is retrying; cat still has a device

    rig.providers["fcm"].answer = failing(OutcomeKind.PERMANENT, "InvalidArgument", 400)
    rig.clock.advance(3600)
    await drain(worker)
    rig.clock.advance(GRACE + 1)
    swept = await rig.services.engine.follow_ups.run_once()
    assert swept.fallback_steps == 1
    assert sorted((r.channel, r.state) for r in await rig.deliveries(notification_id)) == [
        ("apns", "fallback"),
        ("fcm", "fallback"),
        ("inbox", "queued"),
    ]


async def test_each_sweep_reads_one_bounded_page_and_resumes(rig: Rig) -> None:
    names = [f"user{i}" for i in range(5)]
    for i, name in enumerate(names):
        await rig.user(name, {f"{i:02d}" * 32: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.PERMANENT, "BadExpirationDate", 400)
    notification_id = await rig.send(spec("inbox"), users=tuple(names))
    await drain(crashing_worker(rig))
    rig.clock.advance(GRACE + 1)
    sweep = rig.services.engine.follow_ups
    sweep.options = SweepOptions(batch_size=2)

    pages = []
    while True:
        swept = await sweep.run_once()
        pages.append((swept.seen, swept.fallback_steps))
        if not swept.more:
            break
    assert pages == [(2, 2), (2, 2), (1, 1)]
    rows = await rig.deliveries(notification_id)
    assert sorted(r.channel for r in rows if r.state == "queued") == ["inbox"] * 5


async def test_outcomes_older_than_the_lookback_are_not_swept(rig: Rig) -> None:
    await rig.user("dan", {"e5" * 32: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.PERMANENT, "BadExpirationDate", 400)
    notification_id = await rig.send(spec("inbox"), users=("dan",))
    await drain(crashing_worker(rig))
    rig.clock.advance(SweepOptions().lookback_seconds + 1)
    swept = await rig.services.engine.follow_ups.run_once()
    assert (swept.seen, swept.fallback_steps) == (0, 0)
    assert len(await rig.deliveries(notification_id)) == 1


async def test_the_service_sweeps_only_while_leading(rig: Rig) -> None:
    await rig.user("eve", {"f6" * 32: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.PERMANENT, "BadExpirationDate", 400)
    notification_id = await rig.send(spec("inbox"), users=("eve",))
    await drain(crashing_worker(rig))
    rig.clock.advance(GRACE + 1)
    leading = asyncio.Event()

    async def is_leader() -> bool:
        leading.set()
        return False

    follower = FollowUpService(rig.services.engine.follow_ups, is_leader)
    await follower.start()
    await asyncio.wait_for(leading.wait(), 10)
    await follower.stop()
    assert len(await rig.deliveries(notification_id)) == 1

    assert rig.services.follow_ups in delivery_services(rig.services)
    leader = rig.services.follow_ups  # as wired: leader of "follow-ups" (always, on SQLite)
    await leader.start()
    try:
        for _ in range(500):
            if len(await rig.deliveries(notification_id)) == 2:
                break
            await asyncio.sleep(0.02)
    finally:
        await leader.stop()
    assert [(r.channel, r.state) for r in await rig.deliveries(notification_id)] == [
        ("apns", "fallback"),
        ("inbox", "queued"),
    ]
