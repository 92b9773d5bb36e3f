"""The store and queue contract, one suite run against both engines (SQLite and PostgreSQL).

Claims hand out each due delivery to one owner at a time, leases run out and are
taken over, heartbeats keep them, a stale owner cannot overwrite the new owner's
outcome, released claims are due at once, apps share batches fairly, the
transactional lane goes first, acceptance is idempotent and audiences are
expanded in SQL.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pushwise.bootstrap import Services, build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.states import DeliveryState
from pushwise.settings import Settings
from pushwise.store.apps import AppRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import IdempotencyConflict, Target
from pushwise.store.operations import OperationsRepository
from pushwise.store.queue import DeliveryQueue, DeliveryUpdate
from pushwise.store.schema import deliveries
from tests.integration.pg_databases import fresh_store

pytestmark = pytest.mark.integration

LEASE = 30.0


@dataclass
class Store:
    services: Services
    clock: ManualClock
    queue: DeliveryQueue

    async def app_with_devices(self, name: str, count: int, *, users: bool = False) -> tuple[str, list[str]]:
        app_id = (await AppRepository(self.services.db, self.clock).create_with_keys(name)).app.id
        registrations = [
            DeviceRegistration("ios", f"{name}-{n:060x}", user_external_id=f"u{n}" if users else None)
            for n in range(count)
        ]
        registered = await DeviceRepository(self.services.db, self.clock).register_many(app_id, registrations)
        return app_id, [item.device.id for item in registered]

    async def send(self, app_id: str, target: Target | None = None, **spec: object) -> int:
        request = AcceptRequest(NotificationSpec(Content(title="t"), **spec), target or Target(everyone=True))  # type: ignore[arg-type]
        return (await self.services.engine.accept(app_id, request)).recipients

    async def states(self) -> dict[str, int]:
        async with self.services.db.read.connect() as conn:
            rows = await conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))
            return {state: int(count) for state, count in rows}


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        clock = ManualClock()
        settings = Settings(
            database_url=url,
            secret_key="contract-suite-secret-0123456789abcdef",
            secret_key_file=str(tmp_path / "key"),
            db_pool_size=4,
        )
        services = build_services(settings, clock=clock, rng=random.Random(4))
        try:
            yield Store(services, clock, services.engine.queue)
        finally:
            await services.close()


def delivered(delivery_id: int, attempts: int = 1) -> DeliveryUpdate:
    return DeliveryUpdate(
        delivery_id,
        DeliveryState.DELIVERED,
        attempts,
        None,
        None,
        200,
        sent=True,
        attempt_outcome="delivered",
    )


async def test_claim_leases_each_delivery_to_one_owner_until_the_lease_runs_out(store: Store) -> None:
    app_id, _ = await store.app_with_devices("a", 5)
    await store.send(app_id)
    now = store.clock.now()
    first = await store.queue.claim("w1", limit=10, now=now, lease_seconds=LEASE)
    assert len(first) == 5
    assert all(item.token and item.device_active for item in first)
    assert await store.states() == {"sending": 5}
    assert await store.queue.claim("w2", limit=10, now=now + LEASE - 1, lease_seconds=LEASE) == []
    taken_over = await store.queue.claim("w2", limit=10, now=now + LEASE, lease_seconds=LEASE)
    assert sorted(item.id for item in taken_over) == sorted(item.id for item in first)


async def test_heartbeat_keeps_the_lease_of_a_batch_in_flight(store: Store) -> None:
    app_id, _ = await store.app_with_devices("a", 3)
    await store.send(app_id)
    now = store.clock.now()
    claimed = await store.queue.claim("w1", limit=10, now=now, lease_seconds=LEASE)
    ids = [item.id for item in claimed]
    assert await store.queue.extend("w1", ids, now + 2 * LEASE) == 3
    assert await store.queue.extend("intruder", ids, now + 10 * LEASE) == 0
    assert await store.queue.claim("w2", limit=10, now=now + LEASE + 1, lease_seconds=LEASE) == []
    assert len(await store.queue.claim("w2", limit=10, now=now + 2 * LEASE, lease_seconds=LEASE)) == 3


async def test_a_stale_owner_cannot_overwrite_the_new_owners_outcome(store: Store) -> None:
    app_id, _ = await store.app_with_devices("a", 1)
    await store.send(app_id)
    now = store.clock.now()
    [stale] = await store.queue.claim("w1", limit=1, now=now, lease_seconds=LEASE)
    [fresh] = await store.queue.claim("w2", limit=1, now=now + LEASE, lease_seconds=LEASE)
    assert stale.id == fresh.id
    retry = DeliveryUpdate(stale.id, DeliveryState.RETRYING, 1, now + 999, "Timeout", sent=True)
    await store.queue.record("w1", [retry], now + LEASE + 1)
    await store.queue.record("w2", [delivered(fresh.id)], now + LEASE + 2)
    await store.queue.record("w1", [retry], now + LEASE + 3)  # late again, after the final outcome
    assert await store.states() == {"delivered": 1}
    async with store.services.db.read.connect() as conn:
        row = (await conn.execute(select(deliveries).where(deliveries.c.id == fresh.id))).one()
    assert (row.due_at, row.lease_owner, row.last_status) == (None, None, 200)


async def test_release_gives_unsent_claims_back_at_once(store: Store) -> None:
    app_id, _ = await store.app_with_devices("a", 4)
    await store.send(app_id)
    now = store.clock.now()
    claimed = await store.queue.claim("w1", limit=10, now=now, lease_seconds=LEASE)
    await store.queue.release("someone-else", [item.id for item in claimed], now)
    assert await store.states() == {"sending": 4}
    await store.queue.release("w1", [item.id for item in claimed], now)
    assert await store.states() == {"queued": 4}
    again = await store.queue.claim("w2", limit=10, now=now, lease_seconds=LEASE)
    assert len(again) == 4


async def test_concurrent_claims_never_hand_out_a_delivery_twice(store: Store) -> None:
    app_id, _ = await store.app_with_devices("a", 400)
    await store.send(app_id)
    now = store.clock.now()
    batches = await asyncio.gather(
        *(store.queue.claim(f"w{n}", limit=60, now=now, lease_seconds=LEASE) for n in range(8))
    )
    ids = [item.id for batch in batches for item in batch]
    assert len(ids) == len(set(ids)) == 400


async def test_a_huge_campaign_does_not_starve_other_apps(store: Store) -> None:
    big, _ = await store.app_with_devices("big", 600)
    small, _ = await store.app_with_devices("small", 10)
    other, _ = await store.app_with_devices("other", 30)
    await store.send(big)  # accepted first, so it is also due first
    store.clock.advance(1)
    await store.send(small)
    await store.send(other)
    store.clock.advance(1)
    batch = await store.queue.claim("w1", limit=90, now=store.clock.now(), lease_seconds=LEASE)
    per_app = {app: sum(1 for item in batch if item.app_id == app) for app in (big, small, other)}
    assert per_app == {big: 50, small: 10, other: 30}  # quota 30 each; small's unused share goes to big


async def test_many_small_apps_are_served_in_rotation(store: Store) -> None:
    app_ids = [(await store.app_with_devices(f"app{n}", 3))[0] for n in range(6)]
    for app_id in app_ids:
        await store.send(app_id)
    now = store.clock.now()
    served: set[str] = set()
    for owner in ("w1", "w2", "w3"):
        batch = await store.queue.claim(owner, limit=2, now=now, lease_seconds=LEASE)
        assert len({item.app_id for item in batch}) == 2  # one row each from two apps
        served.update(item.app_id for item in batch)
    assert served == set(app_ids)


async def test_the_transactional_lane_is_claimed_first(store: Store) -> None:
    app_id, _ = await store.app_with_devices("a", 50)
    await store.send(app_id)  # a normal campaign, due first
    store.clock.advance(5)
    await store.send(app_id, priority="transactional")
    batch = await store.queue.claim("w1", limit=50, now=store.clock.now(), lease_seconds=LEASE)
    async with store.services.db.read.connect() as conn:
        lanes = dict(
            (
                await conn.execute(select(deliveries.c.id, deliveries.c.lane).where(deliveries.c.lane == 0))
            ).all()
        )
    assert {item.id for item in batch} == set(lanes)


async def test_deliveries_due_later_are_not_claimed_early(store: Store) -> None:
    app_id, _ = await store.app_with_devices("a", 3)
    now = store.clock.now()
    await store.services.engine.accept(
        app_id,
        AcceptRequest(NotificationSpec(Content(title="later")), Target(everyone=True), send_at=now + 3600),
    )
    assert await store.queue.claim("w1", limit=10, now=now, lease_seconds=LEASE) == []
    assert len(await store.queue.claim("w1", limit=10, now=now + 3600, lease_seconds=LEASE)) == 3


async def test_accept_is_idempotent_per_key(store: Store) -> None:
    app_id, _ = await store.app_with_devices("a", 7)
    spec = NotificationSpec(Content(title="once"))
    request = AcceptRequest(spec, Target(everyone=True), idempotency_key="k1", request_hash="h1")
    first = await store.services.engine.accept(app_id, request)
    again = await store.services.engine.accept(app_id, request)
    assert (again.id, again.recipients, again.replayed) == (first.id, 7, True)
    assert await store.states() == {"queued": 7}
    with pytest.raises(IdempotencyConflict):
        await store.services.engine.accept(
            app_id, AcceptRequest(spec, Target(everyone=True), idempotency_key="k1", request_hash="h2")
        )


async def test_audience_expansion_targets_active_devices_of_the_chosen_users(store: Store) -> None:
    app_id, device_ids = await store.app_with_devices("a", 20, users=True)
    await store.app_with_devices("stranger", 5)
    claimed = await store.queue.claim("w1", limit=1, now=store.clock.now(), lease_seconds=LEASE)
    assert claimed == []
    assert await store.send(app_id, Target(user_ids=("u1", "u2", "u3", "nobody"))) == 3
    assert await store.send(app_id, Target(device_ids=(device_ids[0], device_ids[1]))) == 2
    assert await store.send(app_id) == 20
    dead = await store.queue.claim("w1", limit=1, now=store.clock.now(), lease_seconds=LEASE)
    dead_update = DeliveryUpdate(
        dead[0].id,
        DeliveryState.FAILED,
        1,
        None,
        "Unregistered",
        410,
        sent=True,
        attempt_outcome="token_dead",
        device_to_deactivate=dead[0].device_id,
    )
    await store.queue.record("w1", [dead_update], store.clock.now())
    assert await store.send(app_id) == 19  # the dead token is no longer in the audience


async def test_a_claim_carries_the_device_it_is_for(store: Store) -> None:
    app_id = (await AppRepository(store.services.db, store.clock).create_with_keys("web")).app.id
    subscription = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "k", "auth": "a"}}
    await DeviceRepository(store.services.db, store.clock).register_many(
        app_id,
        [
            DeviceRegistration(
                "web", "https://push.example/abc", subscription=subscription, timezone="Europe/Paris"
            )
        ],
    )
    await store.send(app_id)
    [claimed] = await store.queue.claim("w1", limit=5, now=store.clock.now(), lease_seconds=LEASE)
    assert (claimed.channel, claimed.token, claimed.device_active) == (
        "webpush",
        "https://push.example/abc",
        True,
    )
    assert (claimed.subscription, claimed.timezone) == (subscription, "Europe/Paris")


async def test_a_replayed_dead_letter_is_claimed_again_with_its_replay_count(store: Store) -> None:
    app_id, _ = await store.app_with_devices("a", 2)
    await store.send(app_id)
    first, second = await store.queue.claim("w1", limit=5, now=store.clock.now(), lease_seconds=LEASE)
    assert (first.replays, second.replays) == (0, 0)
    failed = [
        DeliveryUpdate(c.id, DeliveryState.FAILED, 1, None, "PayloadTooLarge", 413) for c in (first, second)
    ]
    await store.queue.record("w1", failed, store.clock.now())

    operations = OperationsRepository(store.services.db)
    assert await operations.replay("someone-else", [first.id], store.clock.now()) == Counter()
    assert await operations.replay(app_id, [first.id], store.clock.now()) == Counter({"apns": 1})
    assert await operations.replay(app_id, [first.id], store.clock.now()) == Counter()  # queued, not failed
    [again] = await store.queue.claim("w2", limit=5, now=store.clock.now(), lease_seconds=LEASE)
    assert (again.id, again.replays, again.attempts) == (first.id, 1, 1)
    assert await store.states() == {"sending": 1, "failed": 1}
