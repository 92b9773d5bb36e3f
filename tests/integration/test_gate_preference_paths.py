"""Every preference path at the gate, on every channel, through the real engine and database.

Scripted providers stand in for the services; the claim, the gate's batch read, the
decision, its recording and the trail are the real ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from pushwise.domain.audience.preferences import Category, PreferenceChange
from pushwise.domain.china.vendors import VENDORS, next_vendor_day
from pushwise.domain.notification import Content, Fallback, NotificationSpec
from pushwise.store.categories import CategoryRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.preferences import PreferenceRepository
from pushwise.store.schema import users
from tests.integration.engine_rig import Rig, make_rig

pytestmark = pytest.mark.integration

CHANNELS = ("apns", "fcm", "webpush", *VENDORS, "inbox", "email", "webhook")
PLATFORM = {"apns": "ios", "fcm": "android", "webpush": "web", **dict.fromkeys(VENDORS, "android")}

# path -> (category, transactional, what the user set, expected (state, reason))
PATHS: dict[str, tuple[str, bool, str, tuple[str, str | None]]] = {
    "default on": ("promotions", False, "", ("delivered", None)),
    "opted out here": ("promotions", False, "opt_out", ("suppressed", "opted_out:promotions")),
    "opted out elsewhere": ("promotions", False, "opt_out_other", ("delivered", None)),
    "default off": ("digest", False, "", ("suppressed", "opted_out:digest")),
    "opted in to a default off": ("digest", False, "opt_in", ("delivered", None)),
    "unsubscribed": ("promotions", False, "unsubscribe", ("suppressed", "unsubscribed:{channel}")),
    "unsubscribed, no category": ("", False, "unsubscribe", ("suppressed", "unsubscribed:{channel}")),
    "transactional, opted out": ("promotions", True, "opt_out", ("delivered", None)),
    "transactional, default off": ("digest", True, "", ("delivered", None)),
    "transactional, unsubscribed": ("promotions", True, "unsubscribe", ("law", "unsubscribed:{channel}")),
    "not a channel of the category": ("letters", False, "", ("suppressed", "category_channels:letters")),
    "transactional, not a channel of the category": (
        "letters",
        True,
        "",
        ("suppressed", "category_channels:letters"),
    ),
}


@pytest.fixture(params=CHANNELS)
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    made = await make_rig(tmp_path, channels=CHANNELS)
    made.channel = request.param  # type: ignore[attr-defined]
    yield made
    await made.services.close()


async def test_every_preference_path_on_every_channel(rig: Rig) -> None:
    channel: str = rig.channel  # type: ignore[attr-defined]
    # Noon in Shanghai: inside every phone maker's marketing hours (vivo's end at 23:00), which
    # the gate holds; the paths here are about preferences.
    rig.clock.set(next_vendor_day(rig.clock.now()) + 12 * 3600)
    other = "inbox" if channel != "inbox" else "email"
    await CategoryRepository(rig.services.db, rig.clock).replace(
        rig.app_id,
        [
            Category("promotions", "Promotions"),
            Category("digest", "Weekly digest", default_on=False),
            Category("letters", "Letters", channels=(other,)),
        ],
    )
    preferences = PreferenceRepository(rig.services.db, rig.clock)
    by_path = {}
    for number, (path, (category, _transactional, setting, _expected)) in enumerate(PATHS.items()):
        external_id = f"user-{number}"
        await rig.user(external_id)
        if channel in PLATFORM:
            registration = DeviceRegistration(
                PLATFORM[channel],
                f"{number:02d}" * 32,
                user_external_id=external_id,
                vendor=channel if channel in VENDORS else None,
            )
            await DeviceRepository(rig.services.db, rig.clock).register_many(rig.app_id, [registration])
        user_id = await _user_id(rig, external_id)
        by_path[path] = user_id
        await preferences.change(rig.app_id, user_id, _change(setting, category, channel, other))

    sent: dict[str, str] = {}
    for path, (category, transactional, _setting, _expected) in PATHS.items():
        spec = NotificationSpec(
            Content(title="Hello", body=path),
            category=category or None,
            priority="transactional" if transactional else "normal",
            fallback=Fallback(channels=(channel,)) if channel not in PLATFORM else Fallback(),
        )
        sent[path] = await rig.send(spec, users=(f"user-{list(PATHS).index(path)}",))
    await rig.drain()

    for path, (_category, _transactional, _setting, (state, reason)) in PATHS.items():
        [delivery] = await rig.deliveries(sent[path])
        assert delivery.channel == channel, path
        assert delivery.user_id == by_path[path], path
        if state == "law":  # a global unsubscribe binds transactional messages only where the law says
            state = "suppressed" if channel == "email" else "delivered"
            reason = reason if channel == "email" else None
        expected_reason = reason.format(channel=channel) if reason else None
        assert (delivery.state, delivery.last_reason) == (state, expected_reason), path
        trail = (await rig.services.engine.events.of_deliveries([delivery.id])).get(delivery.id, [])
        gate_steps = [e.detail for e in trail if e.kind == "gate"]
        if state == "suppressed":
            assert gate_steps == [{"decision": "suppress", "reason": expected_reason}], path
            assert delivery.attempts == 0, path
        else:
            assert gate_steps == [], path
    provider = rig.providers[channel]
    assert sorted(d.notification_id for d in provider.sent) == sorted(
        sent[path] for path in PATHS if _was_sent(path, channel)
    )


def _was_sent(path: str, channel: str) -> bool:
    state = PATHS[path][3][0]
    return state == "delivered" or (state == "law" and channel != "email")


def _change(setting: str, category: str, channel: str, other: str) -> PreferenceChange:
    if setting == "opt_out":
        return PreferenceChange(cells={(category, channel): False})
    if setting == "opt_out_other":
        return PreferenceChange(cells={(category, other): False})
    if setting == "opt_in":
        return PreferenceChange(cells={(category, channel): True})
    if setting == "unsubscribe":
        return PreferenceChange(unsubscribed=frozenset({channel}))
    return PreferenceChange()


async def _user_id(rig: Rig, external_id: str) -> str:
    async with rig.services.db.read.connect() as conn:
        found = await conn.scalar(
            select(users.c.id).where(users.c.app_id == rig.app_id, users.c.external_id == external_id)
        )
    assert found is not None
    return str(found)
