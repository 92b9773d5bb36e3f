"""Routing per installation, in-process on a simulated clock: one delivery per installation,
moving to the next route on each cause, never to two."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pushwise.dashboard.overview import build_overview
from pushwise.domain.china.vendors import next_vendor_day, vendor_day
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.schema import attempts, devices
from pushwise.store.vendor_quota import VendorQuotaUse
from tests.integration.engine_rig import Rig, failing, make_rig

pytestmark = pytest.mark.integration

FCM = "fcm-token-" + "x" * 40
IOS = "c3" * 32
SPEC = NotificationSpec(Content(title="Sale", body="Today only"))


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    made = await make_rig(tmp_path, channels=("apns", "fcm", "huawei", "xiaomi", "inbox"))
    yield made
    await made.services.close()


async def phone(rig: Rig, user: str, *registrations: DeviceRegistration) -> dict[str, str]:
    await rig.user(user)
    registered = await DeviceRepository(rig.services.db, rig.clock).register_many(
        rig.app_id, list(registrations)
    )
    return {r.device.token: r.device.id for r in registered}


def android(
    token: str, user: str, vendor: str | None = None, installation: str | None = "inst-1"
) -> DeviceRegistration:
    return DeviceRegistration(
        "android", token, user_external_id=user, vendor=vendor, installation_id=installation
    )


async def test_one_delivery_per_installation_vendor_first(rig: Rig) -> None:
    await phone(
        rig,
        "ann",
        android("hw-1", "ann", "huawei"),
        android(FCM, "ann"),
        DeviceRegistration("ios", IOS, user_external_id="ann"),
    )
    notification_id = await rig.send(SPEC, users=("ann",))
    rows = await rig.deliveries(notification_id)
    assert sorted(r.channel for r in rows) == ["apns", "huawei"]
    await rig.drain()
    assert [d.token for d in rig.providers["huawei"].sent] == ["hw-1"]
    assert rig.providers["fcm"].sent == []


async def test_app_route_order_is_followed(rig: Rig) -> None:
    await rig.services.engine.policies.put(rig.app_id, {"android_routes": ["fcm", "vendor"]})
    await phone(rig, "bob", android("hw-2", "bob", "huawei"), android(FCM, "bob"))
    rows = await rig.deliveries(await rig.send(SPEC, users=("bob",)))
    assert [r.channel for r in rows] == ["fcm"]


async def test_token_dead_moves_the_same_delivery_to_the_next_route(rig: Rig) -> None:
    ids = await phone(rig, "cat", android("hw-3", "cat", "huawei"), android(FCM, "cat"))
    rig.providers["huawei"].answer = failing(OutcomeKind.TOKEN_DEAD, "huawei:80300007", 200)
    notification_id = await rig.send(SPEC, users=("cat",))
    await rig.drain()
    rows = await rig.deliveries(notification_id)
    assert [(r.channel, r.device_id, r.state) for r in rows] == [("fcm", ids[FCM], "delivered")]
    device = await DeviceRepository(rig.services.db, rig.clock).get(rig.app_id, ids["hw-3"])
    assert device is not None
    assert (device.active, device.deactivated_reason) == (False, "huawei:80300007")
    trail = (await rig.services.engine.events.of_deliveries([rows[0].id]))[rows[0].id]
    route = [e.detail for e in trail if e.kind == "route"]
    assert route == [
        {
            "from": "huawei",
            "to": "fcm",
            "device_id": ids[FCM],
            "cause": "token_dead",
            "reason": "huawei:80300007",
        }
    ]


async def test_quota_spent_moves_on_without_counting_an_attempt(rig: Rig) -> None:
    await phone(rig, "dan", android("mi-1", "dan", "xiaomi"), android(FCM, "dan"))
    rig.providers["xiaomi"].answer = failing(OutcomeKind.QUOTA_SPENT, "xiaomi:10034", 200)
    notification_id = await rig.send(SPEC, users=("dan",))
    await rig.drain()
    rows = await rig.deliveries(notification_id)
    assert [(r.channel, r.state, r.attempts) for r in rows] == [("fcm", "delivered", 1)]
    async with rig.services.db.read.connect() as conn:
        outcomes = list(
            await conn.execute(select(attempts.c.outcome).where(attempts.c.delivery_id == rows[0].id))
        )
    assert [o for (o,) in outcomes] == ["delivered"]  # the quota answer was no attempt


async def test_quota_spent_without_another_route_waits_for_the_vendor_day(rig: Rig) -> None:
    await phone(rig, "eve", android("mi-2", "eve", "xiaomi"))
    rig.providers["xiaomi"].answer = failing(OutcomeKind.QUOTA_SPENT, "xiaomi:10034", 200)
    rig.clock.set(datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp())
    notification_id = await rig.send(
        NotificationSpec(Content(title="Sale", body="x"), ttl_seconds=3 * 86400), users=("eve",)
    )
    await rig.drain()
    (row,) = await rig.deliveries(notification_id)
    assert (row.state, row.attempts, row.last_reason) == ("queued", 0, "vendor_quota:xiaomi")
    assert row.due_at == next_vendor_day(rig.clock.now())  # 16:00 UTC = 00:00 in Shanghai
    assert datetime.fromtimestamp(row.due_at, UTC).hour == 16
    rig.providers["xiaomi"].answer = lambda dispatch: Outcome(OutcomeKind.DELIVERED, "", 200)
    rig.clock.set(row.due_at)
    await rig.drain()
    assert (await rig.deliveries(notification_id))[0].state == "delivered"


async def test_quota_spent_that_would_outlive_the_notification_is_suppressed(rig: Rig) -> None:
    await phone(rig, "fay", android("mi-3", "fay", "xiaomi"))
    rig.providers["xiaomi"].answer = failing(OutcomeKind.QUOTA_SPENT, "xiaomi:10034", 200)
    rig.clock.set(datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp())
    notification_id = await rig.send(
        NotificationSpec(Content(title="Flash", body="x"), ttl_seconds=600), users=("fay",)
    )
    await rig.drain()
    (row,) = await rig.deliveries(notification_id)
    assert (row.state, row.last_reason) == ("suppressed", "vendor_quota:xiaomi")


async def test_an_open_circuit_moves_to_the_next_route(rig: Rig) -> None:
    await phone(rig, "gus", android("hw-4", "gus", "huawei"), android(FCM, "gus"))
    rig.providers["huawei"].answer = failing(OutcomeKind.CONFIGURATION, "huawei:80300002", 200)
    first = await rig.send(SPEC, users=("gus",))
    await rig.drain()
    second = await rig.send(SPEC, users=("gus",))  # the huawei circuit is open now
    await rig.drain()
    assert [(r.channel, r.state) for r in await rig.deliveries(first)] == [("fcm", "delivered")]
    rows = await rig.deliveries(second)
    assert [(r.channel, r.state) for r in rows] == [("fcm", "delivered")]
    assert len(rig.providers["huawei"].sent) == 1  # the second never went to huawei


async def test_a_device_pruned_after_planning_hands_over_to_the_next_route(rig: Rig) -> None:
    ids = await phone(rig, "hal", android("hw-5", "hal", "huawei"), android(FCM, "hal"))
    notification_id = await rig.send(SPEC, users=("hal",))
    async with rig.services.db.writing() as conn:
        await conn.execute(devices.update().where(devices.c.id == ids["hw-5"]).values(active=False))
    await rig.drain()
    assert [(r.channel, r.state) for r in await rig.deliveries(notification_id)] == [("fcm", "delivered")]


async def test_the_last_route_failing_ends_the_delivery_once(rig: Rig) -> None:
    await phone(rig, "ivy", android("hw-6", "ivy", "huawei"), android(FCM, "ivy"))
    rig.providers["huawei"].answer = failing(OutcomeKind.TOKEN_DEAD, "huawei:80300007", 200)
    rig.providers["fcm"].answer = failing(OutcomeKind.TOKEN_DEAD, "UNREGISTERED", 404)
    notification_id = await rig.send(SPEC, users=("ivy",))
    await rig.drain()
    rows = await rig.deliveries(notification_id)
    assert [(r.channel, r.state, r.last_reason) for r in rows] == [("fcm", "failed", "UNREGISTERED")]
    async with rig.services.db.read.connect() as conn:
        active = await conn.scalar(select(func.count()).select_from(devices).where(devices.c.active))
    assert active == 0
    assert len(rig.providers["huawei"].sent) + len(rig.providers["fcm"].sent) == 2


async def test_devices_without_installation_each_get_their_delivery(rig: Rig) -> None:
    await phone(rig, "jon", android("hw-7", "jon", "huawei", None), android(FCM, "jon", None, None))
    rows = await rig.deliveries(await rig.send(SPEC, users=("jon",)))
    assert sorted(r.channel for r in rows) == ["fcm", "huawei"]


async def test_quota_use_is_counted_per_vendor_day_and_charted(rig: Rig) -> None:
    await phone(rig, "kim", android("mi-9", "kim", "xiaomi"), android("hw-9", "kim", "huawei", "inst-2"))
    rig.providers["xiaomi"].answer = failing(OutcomeKind.QUOTA_SPENT, "xiaomi:10034", 200)
    await rig.send(SPEC, users=("kim",))
    await rig.drain()
    store = VendorQuotaUse(rig.services.db)
    day = vendor_day(rig.clock.now())
    used = {(u.vendor, u.day): (u.marketing, u.quota_spent) for u in await store.since(rig.app_id, day)}
    assert used == {("huawei", day): (1, 0), ("xiaomi", day): (0, 1)}
    view = await build_overview(rig.services.monitoring, rig.app_id, rig.clock.now(), store)
    assert "huawei" in view.quota_chart
    assert "xiaomi" in view.quota_chart
    assert "1 refused: quota spent" in view.quota_chart
    assert "huawei " + day + ": 1 of 2 marketing pushes (50%)" in view.quota_chart
