"""Fallback channels and fallback content, in-process on a simulated clock (scripted providers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from pushwise.delivery.fallback import FallbackPlanner
from pushwise.domain.notification import Content, Fallback, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind, delivered
from pushwise.store.schema import fallback_steps
from tests.integration.engine_rig import Rig, failing, rig_fixture

pytestmark = pytest.mark.integration

IOS = "a1" * 32
IOS_2 = "b2" * 32


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path):
        yield made


def spec(*channels: str, ttl: int | None = None, body: str = "Your order shipped") -> NotificationSpec:
    return NotificationSpec(
        Content(title="Shop", body=body), ttl_seconds=ttl, fallback=Fallback(channels=channels)
    )


async def test_a_user_without_devices_gets_the_first_user_channel_at_accept(rig: Rig) -> None:
    await rig.user("ann")
    notification_id = await rig.send(spec("apns", "inbox", "email"), users=("ann",))
    rows = await rig.deliveries(notification_id)
    assert [(r.channel, r.device_id, r.state) for r in rows] == [("inbox", None, "queued")]
    await rig.drain()
    assert [d.user_id for d in rig.providers["inbox"].sent] == [rows[0].user_id]
    assert (await rig.deliveries(notification_id))[0].state == "delivered"


async def test_token_dead_falls_back_to_the_next_channel_once(rig: Rig) -> None:
    await rig.user("bob", {IOS: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.TOKEN_DEAD, "Unregistered", 410)
    notification_id = await rig.send(spec("email", "inbox"), users=("bob",))
    await rig.drain()
    rows = await rig.deliveries(notification_id)
    assert [(r.channel, r.state) for r in rows] == [("apns", "fallback"), ("email", "delivered")]
    assert rows[0].last_reason == "Unregistered"
    assert len(rig.providers["email"].sent) == 1
    trail = await rig.services.engine.events.of_deliveries([rows[0].id])
    assert [(e.kind, e.detail) for e in trail[rows[0].id]] == [("fallback", {"channel": "email", "step": 1})]

    # At-least-once: the same outcomes processed again plan nothing new.
    planner = FallbackPlanner(rig.services.engine.notifications, rig.services.engine.fallback, rig.clock)
    again = await planner.plan({(notification_id, rig.app_id, rows[0].user_id)})
    assert again == []
    assert len(await rig.deliveries(notification_id)) == 2


async def test_fallback_waits_for_every_device_of_the_user(rig: Rig) -> None:
    await rig.user("cat", {IOS: "ios", IOS_2: "ios"})

    def one_dead(dispatch: object) -> Outcome:
        token = dispatch.token
        return Outcome(OutcomeKind.TOKEN_DEAD, "Unregistered", 410) if token == IOS else delivered()

    rig.providers["apns"].answer = one_dead
    notification_id = await rig.send(spec("inbox"), users=("cat",))
    await rig.drain()
    states = sorted((r.channel, r.state) for r in await rig.deliveries(notification_id))
    assert states == [("apns", "delivered"), ("apns", "failed")]
    assert rig.providers["inbox"].sent == []


async def test_permanent_failure_on_all_devices_falls_back(rig: Rig) -> None:
    await rig.user("dan", {IOS: "ios", IOS_2: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.PERMANENT, "BadCollapseId", 400)
    notification_id = await rig.send(spec("inbox"), users=("dan",))
    await rig.drain()
    rows = await rig.deliveries(notification_id)
    assert sorted((r.channel, r.state) for r in rows) == [
        ("apns", "fallback"),
        ("apns", "fallback"),
        ("inbox", "delivered"),
    ]
    async with rig.services.db.read.connect() as conn:
        steps = list(await conn.execute(select(fallback_steps)))
    assert [(s.step, s.channel, s.deliveries) for s in steps] == [(1, "inbox", 1)]


async def test_expiry_falls_back_to_the_inbox_which_does_not_expire(rig: Rig) -> None:
    await rig.user("eve", {IOS: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.RETRY, "ServiceUnavailable", 503)
    notification_id = await rig.send(spec("inbox", ttl=30), users=("eve",))
    await rig.drain(rounds=10, step=15)
    rows = await rig.deliveries(notification_id)
    assert [(r.channel, r.state) for r in rows] == [("apns", "fallback"), ("inbox", "delivered")]


async def test_a_channel_with_no_device_is_passed_over(rig: Rig) -> None:
    await rig.user("fay", {IOS: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.TOKEN_DEAD, "BadDeviceToken", 400)
    notification_id = await rig.send(spec("fcm", "webpush", "inbox"), users=("fay",))
    await rig.drain()
    rows = await rig.deliveries(notification_id)
    assert [(r.channel, r.state) for r in rows] == [("apns", "fallback"), ("inbox", "delivered")]
    async with rig.services.db.read.connect() as conn:
        steps = list(await conn.execute(select(fallback_steps).order_by(fallback_steps.c.step)))
    assert [(s.channel, s.deliveries) for s in steps] == [("fcm", 0), ("webpush", 0), ("inbox", 1)]


async def test_no_fallback_channels_means_the_failure_stands(rig: Rig) -> None:
    await rig.user("gus", {IOS: "ios"})
    rig.providers["apns"].answer = failing(OutcomeKind.TOKEN_DEAD, "Unregistered", 410)
    notification_id = await rig.send(spec(), users=("gus",))
    await rig.drain()
    assert [r.state for r in await rig.deliveries(notification_id)] == ["failed"]


def too_large_unless_short(limit: int) -> object:
    def answer(dispatch: object) -> Outcome:
        content = dispatch.spec.content
        size = len((content.body or "").encode()) + len(str(content.data))
        return delivered() if size <= limit else Outcome(OutcomeKind.PERMANENT, "PayloadTooLarge", 413)

    return answer


async def test_too_large_sends_the_senders_fallback_content(rig: Rig) -> None:
    await rig.user("hal", {IOS: "ios"})
    rig.providers["apns"].answer = too_large_unless_short(100)  # type: ignore[assignment]
    big = NotificationSpec(
        Content(title="Sale", body="x" * 5000),
        fallback=Fallback(content=Content(title="Sale", body="Everything 20% off")),
    )
    notification_id = await rig.send(big, users=("hal",))
    await rig.drain()
    rows = await rig.deliveries(notification_id)
    assert rows[0].state == "delivered"
    sent = rig.providers["apns"].sent
    assert [d.spec.content.body for d in sent] == ["x" * 5000, "Everything 20% off"]
    events = await rig.services.engine.events.of_deliveries([rows[0].id])
    assert [(e.kind, e.detail["content"]) for e in events[rows[0].id]] == [
        ("content_fallback", "fallback_content")
    ]


async def test_too_large_without_fallback_content_is_shortened_then_stripped_of_data(rig: Rig) -> None:
    await rig.user("ida", {IOS: "ios"})
    rig.providers["apns"].answer = too_large_unless_short(1100)  # type: ignore[assignment]
    big = NotificationSpec(Content(title="News", body="word " * 1000, data={"blob": "y" * 500}))
    notification_id = await rig.send(big, users=("ida",))
    await rig.drain()
    assert (await rig.deliveries(notification_id))[0].state == "delivered"
    last = rig.providers["apns"].sent[-1].spec.content
    assert last.body is not None
    assert last.body.endswith("\u2026")
    assert len(last.body.encode()) <= 1024
    assert last.data == {}
    assert len(rig.providers["apns"].sent) == 3  # original, shortened, shortened without data
