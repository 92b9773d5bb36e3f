"""The gate in the engine, on both engines, on a simulated clock: caps under concurrent workers,
quiet hours ending with a spread, send-time optimisation, digests, throttled rollout, holdouts."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from pushwise.api.schemas.policy import PolicyIn
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind, delivered
from pushwise.store.experiments import ExperimentRepository
from pushwise.store.notifications import Target
from pushwise.store.schema import deliveries, experiment_assignments, experiments, gate_sends, inbox_items
from pushwise.store.user_events import NewEvent, UserEventLog
from pushwise.store.users import UserRepository
from tests.integration.engine_rig import Rig, failing, make_rig
from tests.integration.pg_databases import fresh_store

pytestmark = pytest.mark.integration
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(params=["sqlite", "postgresql"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        built = await make_rig(tmp_path, url=url)
        try:
            yield built
        finally:
            await built.services.close()


def berlin(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


async def policy(rig: Rig, **parts: Any) -> None:
    await rig.services.engine.policies.put(rig.app_id, PolicyIn(**parts).document())


async def person(rig: Rig, name: str, timezone: str = "Europe/Berlin", platform: str = "ios") -> str:
    await UserRepository(rig.services.db, rig.clock).upsert(rig.app_id, name, {"timezone": timezone})
    return next(iter((await rig.user(name, {f"token-{name}": platform})).values()))


def push(title: str, **options: Any) -> NotificationSpec:
    return NotificationSpec(Content(title=title, body=f"{title}!"), **options)


async def states(rig: Rig, notification_id: str) -> list[tuple[str, str | None]]:
    return [(row.state, row.last_reason) for row in await rig.deliveries(notification_id)]


async def scalar(rig: Rig, query: Any) -> Any:
    async with rig.services.db.read.connect() as conn:
        return await conn.scalar(query)


async def test_concurrent_workers_never_exceed_a_cap_and_the_rest_waits(rig: Rig) -> None:
    rig.clock.set(berlin("2026-06-15T10:00"))
    await policy(rig, caps=[{"window_seconds": 86_400, "max": 3}])
    await person(rig, "ann")
    sent = [await rig.send(push(f"deal {n}"), users=("ann",)) for n in range(20)]
    workers = [rig.services.engine.worker() for _ in range(3)]

    async def drain(worker: Any) -> None:
        while await worker.run_once():
            pass

    await asyncio.gather(*(drain(worker) for worker in workers))
    found = [state for nid in sent for state, _reason in await states(rig, nid)]
    assert Counter(found) == {"delivered": 3, "deferred": 17}
    assert len(rig.providers["apns"].sent) == 3
    waiting = [row for nid in sent for row in await rig.deliveries(nid) if row.state == "deferred"]
    assert {row.last_reason for row in waiting} == {"cap:86400"}
    assert min(row.due_at for row in waiting) == pytest.approx(berlin("2026-06-16T10:00"))
    rig.clock.advance(86_400)
    await asyncio.gather(*(drain(worker) for worker in workers))
    found = [state for nid in sent for state, _reason in await states(rig, nid)]
    assert Counter(found) == {"delivered": 6, "deferred": 14}


async def test_a_slot_is_given_back_when_the_send_fails(rig: Rig) -> None:
    await policy(rig, caps=[{"window_seconds": 86_400, "max": 1}])
    await person(rig, "ann")
    rig.providers["apns"].answer = failing(OutcomeKind.PERMANENT, "BadRequest", 400)
    failed = await rig.send(push("first"), users=("ann",))
    await rig.drain()
    assert await states(rig, failed) == [("failed", "BadRequest")]
    assert await scalar(rig, select(func.count()).select_from(gate_sends)) == 0
    rig.providers["apns"].answer = lambda dispatch: delivered()
    second = await rig.send(push("second"), users=("ann",))
    await rig.drain()
    assert await states(rig, second) == [("delivered", None)]


async def test_quiet_hours_defer_to_the_end_with_a_spread_and_the_push_then_goes(rig: Rig) -> None:
    rig.clock.set(berlin("2026-06-15T23:10"))
    await policy(rig, quiet_hours={"start": "21:00", "end": "08:00", "spread_minutes": 30})
    await person(rig, "ann")
    await person(rig, "raj", timezone="Asia/Kolkata")  # 02:40 there: quiet too, ends at 08:00 IST
    notification = await rig.send(push("Morning deal"), users=("ann", "raj"))
    await rig.drain()
    rows = {row.user_external_id: row for row in await rig.deliveries(notification)}
    assert {row.state for row in rows.values()} == {"deferred"}
    ann_due = rows["ann"].due_at
    assert berlin("2026-06-16T08:00") <= ann_due < berlin("2026-06-16T08:30")
    assert rows["ann"].last_reason == "quiet_hours"
    raj_due = rows["raj"].due_at  # 08:00 in Kolkata is 04:30 in Berlin
    assert datetime.fromtimestamp(raj_due, ZoneInfo("Asia/Kolkata")).strftime("%H") == "08"
    rig.clock.set(berlin("2026-06-16T07:59"))
    await rig.drain()
    rows = {row.user_external_id: row for row in await rig.deliveries(notification)}
    assert (rows["raj"].state, rows["ann"].state) == ("delivered", "deferred")
    rig.clock.set(ann_due)
    await rig.drain()
    rows = {row.user_external_id: row for row in await rig.deliveries(notification)}
    assert rows["ann"].state == "delivered"
    assert berlin("2026-06-16T08:00") <= rows["ann"].sent_at < berlin("2026-06-16T08:30")
    assert len(rig.providers["apns"].sent) == 2


async def _opens(rig: Rig, name: str, local_hour: int, days: int) -> None:
    log = UserEventLog(rig.services.db, rig.services.audience.learning, late_window=30 * 86_400)
    events = [
        NewEvent(
            index=day,
            key=f"{name}-{day}",
            type="opened",
            user=name,
            at=berlin(f"2026-06-{1 + day:02d}T{local_hour:02d}:15"),
        )
        for day in range(days)
    ]
    await log.ingest(rig.app_id, events, rig.clock.now())


async def test_send_time_picks_the_learned_hour_and_the_populations_for_a_new_user(rig: Rig) -> None:
    rig.clock.set(berlin("2026-06-15T07:00"))
    for crowd in range(6):
        await person(rig, f"crowd{crowd}")
        await _opens(rig, f"crowd{crowd}", 12, 10)
    await person(rig, "owl")
    await _opens(rig, "owl", 21, 14)
    await person(rig, "newcomer")
    optimised = push("Our pick for you", optimize_within_hours=24.0)
    notification = await rig.send(optimised, users=("owl", "newcomer"))
    await rig.drain()
    rows = {row.user_external_id: row for row in await rig.deliveries(notification)}
    assert datetime.fromtimestamp(rows["owl"].due_at, BERLIN).hour == 21
    assert datetime.fromtimestamp(rows["newcomer"].due_at, BERLIN).hour == 12
    assert {row.last_reason for row in rows.values()} == {"send_time"}
    for name in ("newcomer", "owl"):  # the clock reaches each one's hour: it goes then
        rig.clock.set(rows[name].due_at)
        await rig.drain()
    sent = {row.user_external_id: row for row in await rig.deliveries(notification)}
    assert {name: row.state for name, row in sent.items()} == {"owl": "delivered", "newcomer": "delivered"}
    assert datetime.fromtimestamp(sent["owl"].sent_at, BERLIN).hour == 21
    assert datetime.fromtimestamp(sent["newcomer"].sent_at, BERLIN).hour == 12


async def test_a_digest_merges_what_it_should_and_nothing_else(rig: Rig) -> None:
    rig.clock.set(berlin("2026-06-15T10:00"))
    await policy(rig, digest={"window_seconds": 3600, "max_priority": "low"})
    await person(rig, "ann")
    await person(rig, "bob")
    first = await rig.send(push("Sneakers", priority="low"), users=("ann",))
    await rig.drain()
    rig.clock.advance(60)
    carrier = await rig.send(push("Boots", priority="low"), users=("ann",))
    merged = await rig.send(push("Sandals", priority="low"), users=("ann",))
    normal = await rig.send(push("Your order", priority="normal"), users=("ann",))
    urgent = await rig.send(push("Code 1234", priority="transactional"), users=("ann",))
    elsewhere = await rig.send(push("Hats", priority="low"), users=("bob",))
    await rig.drain()
    assert await states(rig, first) == [("delivered", None)]
    assert await states(rig, carrier) == [("deferred", "digest")]
    [(part_state, part_reason)] = await states(rig, merged)
    [carrier_row] = await rig.deliveries(carrier)
    assert (part_state, part_reason) == ("digested", "digest")
    [part_row] = await rig.deliveries(merged)
    [trail] = (await rig.services.engine.events.of_deliveries([part_row.id]))[part_row.id]
    assert trail.detail == {"decision": "merge", "reason": "digest", "carrier": carrier_row.id}
    assert await states(rig, normal) == [("delivered", None)]
    assert await states(rig, urgent) == [("delivered", None)]
    assert await states(rig, elsewhere) == [("delivered", None)]  # bob's first: opens his own window
    rig.clock.set(berlin("2026-06-15T11:00"))
    await rig.drain()
    assert await states(rig, carrier) == [("delivered", None)]
    digest = rig.providers["apns"].sent[-1]
    assert (digest.spec.content.title, digest.spec.content.body) == ("2 new notifications", "Boots · Sandals")
    listed = await scalar(
        rig, select(inbox_items.c.title).where(inbox_items.c.delivery_id == int(digest.delivery_id) + 1)
    )
    assert listed == "Sandals"


async def test_throttling_holds_its_rate_within_five_percent_over_a_minute(rig: Rig) -> None:
    rig.clock.set(berlin("2026-06-15T10:00:00"))
    tokens = {f"tok{n:04d}": "ios" for n in range(400)}
    await rig.user("crowd", tokens)
    notification = await rig.services.engine.accept(
        rig.app_id, AcceptRequest(push("Launch", rate_per_minute=120.0), Target(user_ids=("crowd",)))
    )
    start = rig.clock.now()
    sent_at: list[float] = []
    for _ in range(200):  # 200 seconds on the simulated clock, a claim round every second
        before = len(rig.providers["apns"].sent)
        while await rig.worker.run_once():
            pass
        sent_at += [rig.clock.now()] * (len(rig.providers["apns"].sent) - before)
        rig.clock.advance(1.0)
    per_minute = [sum(1 for at in sent_at if start + m * 60 <= at < start + (m + 1) * 60) for m in range(3)]
    assert all(abs(count - 120) <= 6 for count in per_minute), per_minute
    assert notification.recipients == 400


async def test_a_holdout_is_recorded_and_not_sent(rig: Rig) -> None:
    names = [f"u{n:03d}" for n in range(120)]
    for name in names:
        await rig.user(name, {f"t-{name}": "ios"})
    notification = await rig.send(push("Spring sale", holdout_percent=25.0), users=tuple(names))
    await rig.drain()
    found = Counter(state for state, _reason in await states(rig, notification))
    assert set(found) == {"delivered", "held_out"}
    assert 15 <= found["held_out"] <= 45
    assert len(rig.providers["apns"].sent) == found["delivered"]
    experiment = (
        await ExperimentRepository(rig.services.db).of_sources(rig.app_id, "notifications", [notification])
    )[notification]
    arms = await scalar(
        rig,
        select(func.count()).where(
            experiment_assignments.c.experiment_id == experiment.id, experiment_assignments.c.arm == "holdout"
        ),
    )
    assert arms == found["held_out"]
    assert await scalar(rig, select(func.count()).select_from(experiment_assignments)) == len(names)
    assert await scalar(rig, select(experiments.c.control)) == "holdout"
    assert await scalar(rig, select(func.count()).select_from(deliveries)) == len(names)
