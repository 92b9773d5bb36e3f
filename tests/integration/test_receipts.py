"""Delivery receipts: batched, signed, retried on a failing receiver, nothing lost.

Receipts are committed with the outcomes and fallback steps they report, so a
process that dies right after a commit loses none; an outcome the lease guard
rejects gets none; an app without a receiver costs no statement.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pushwise.api.app import create_app
from pushwise.api.routes import receipts as receipt_routes
from pushwise.bootstrap import Services, build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.delivery.follow_ups import SweepOptions
from pushwise.delivery.receipts import SUBSCRIPTIONS_TTL_SECONDS, ReceiptSender, SenderOptions
from pushwise.delivery.worker import DeliveryWorker, Recorded, WorkerOptions
from pushwise.domain.backoff import RetryPolicy
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, Fallback, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind, delivered
from pushwise.domain.signatures import SIGNATURE_HEADER, verify
from pushwise.domain.states import DeliveryState
from pushwise.providers.base import Dispatch
from pushwise.settings import Settings
from pushwise.store.apps import AppRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from pushwise.store.queue import ClaimedDelivery, DeliveryUpdate
from pushwise.store.receipts import ReceiptEndpoints, ReceiptOutbox
from pushwise.store.schema import receipt_outbox
from pushwise.store.sealing import Sealer
from tests.integration.conftest import serve_app
from tests.integration.engine_rig import Rig, rig_fixture
from tests.integration.pg_databases import fresh_store

pytestmark = pytest.mark.integration

SECRET = "receipt-secret-0123456789"
DEAD = "a1" * 32
LIVE = "b2" * 32


@dataclass
class Receiver:
    failures_left: int = 0
    posts: list[tuple[bytes, str | None]] = field(default_factory=list)
    refused: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/receipts")
        async def receive(request: Request) -> Response:
            if self.failures_left:
                self.failures_left -= 1
                self.refused += 1
                return Response(status_code=503)
            self.posts.append((await request.body(), request.headers.get(SIGNATURE_HEADER)))
            return Response(status_code=204)

        return app


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path):
        yield made


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    made = Receiver()
    async with serve_app(made.app()) as base_url:
        yield made, f"{base_url}/receipts"


async def test_receipts_are_signed_batched_and_retried_until_taken(
    rig: Rig, receiver: tuple[Receiver, str]
) -> None:
    got, url = receiver
    endpoints = ReceiptEndpoints(rig.services.db, rig.clock, Sealer(rig.services.secret_key))
    await endpoints.put_endpoint(rig.app_id, url, SECRET, ["delivered", "token_dead", "fallback"])
    await rig.user("ann", {DEAD: "ios"})
    await rig.user("bob", {LIVE: "ios"})

    def answer(dispatch: Dispatch) -> Outcome:
        return Outcome(OutcomeKind.TOKEN_DEAD, "Unregistered", 410) if dispatch.token == DEAD else delivered()

    rig.providers["apns"].answer = answer
    spec = NotificationSpec(Content(title="Shop", body="Hi"), fallback=Fallback(channels=("inbox",)))
    notification_id = await rig.send(spec, users=("ann", "bob"))
    await rig.drain()

    got.failures_left = 2
    policy = RetryPolicy(base_seconds=10, cap_seconds=60, max_attempts=10)
    async with httpx.AsyncClient() as client:
        sender = ReceiptSender(
            ReceiptOutbox(rig.services.db),
            endpoints,
            rig.clock,
            random.Random(1),
            client,
            SenderOptions(retry=policy),
        )
        # Four receipts of the notification, and the delivery of ann's failure notice to her inbox.
        assert await sender.run_once() == 5  # one batch, refused
        assert await sender.run_once() == 0  # backing off: nothing due yet
        rig.clock.advance(60)
        assert await sender.run_once() == 5  # refused again
        rig.clock.advance(120)
        taken_at = rig.clock.now()
        assert await sender.run_once() == 5  # taken
        rig.clock.advance(3600)
        assert await sender.run_once() == 0  # and gone from the outbox
    assert got.refused == 2
    assert len(got.posts) == 1
    body, header = got.posts[0]
    verify(SECRET, body, header, now=taken_at)
    events = [e for e in orjson.loads(body)["events"] if e["notification_id"] == notification_id]
    assert sorted((e["type"], e["channel"]) for e in events) == [
        ("delivered", "apns"),
        ("delivered", "inbox"),
        ("fallback", "inbox"),
        ("token_dead", "apns"),
    ]
    dead = next(e for e in events if e["type"] == "token_dead")
    assert (dead["reason"], dead["device_id"] is not None) == ("Unregistered", True)
    assert set(dead) == {
        "type",
        "notification_id",
        "delivery_id",
        "device_id",
        "user_id",
        "channel",
        "reason",
        "at",
    }


async def test_apps_without_a_receiver_queue_nothing(rig: Rig) -> None:
    await rig.user("cat", {LIVE: "ios"})
    await rig.send(NotificationSpec(Content(body="x")), users=("cat",))
    await rig.drain()
    claimed = await ReceiptOutbox(rig.services.db).claim(now=rig.clock.now() + 1, lease_seconds=60, limit=100)
    assert claimed == []


class ProcessDied(BaseException):
    """The process is killed: no `except Exception` on the way out runs anything more."""


class DiesAfterTheCommit:
    async def recorded(self, batch: Sequence[Recorded]) -> None:
        raise ProcessDied


def dying_worker(rig: Rig) -> DeliveryWorker:
    """Wired like `Engine.worker()`, but its process dies as soon as a batch is committed."""
    engine = rig.services.engine
    return DeliveryWorker(
        engine.queue,
        engine.notifications,
        engine.providers,
        rig.clock,
        random.Random(3),
        WorkerOptions(),
        listeners=(DiesAfterTheCommit(),),
        receipts=engine.receipts,
        circuits=engine.circuits,
        events=engine.events,
        rates=engine.rates,
        gate=engine.gate,
    )


async def outbox_events(services: Services) -> list[tuple[str, str]]:
    """(type, channel) of every receipt waiting in the outbox."""
    async with services.db.read.connect() as conn:
        events = (await conn.scalars(select(receipt_outbox.c.event))).all()
    return sorted((e["type"], e["channel"]) for e in events)


async def test_a_process_dying_right_after_the_commit_loses_no_receipt(rig: Rig) -> None:
    endpoints = ReceiptEndpoints(rig.services.db, rig.clock, Sealer(rig.services.secret_key))
    await endpoints.put_endpoint(
        rig.app_id, "http://127.0.0.1:9/r", SECRET, ["delivered", "token_dead", "fallback"]
    )
    await rig.user("ann", {DEAD: "ios"})
    await rig.user("bob", {LIVE: "ios"})
    rig.providers["apns"].answer = lambda d: (
        Outcome(OutcomeKind.TOKEN_DEAD, "Unregistered", 410) if d.token == DEAD else delivered()
    )
    spec = NotificationSpec(Content(title="Shop", body="Hi"), fallback=Fallback(channels=("inbox",)))
    notification_id = await rig.send(spec, users=("ann", "bob"))

    with pytest.raises(ProcessDied):
        await dying_worker(rig).run_once()
    assert await outbox_events(rig.services) == [("delivered", "apns"), ("token_dead", "apns")]

    # Nobody planned ann's fallback step: the follow-up sweep does, with its receipt.
    rig.clock.advance(SweepOptions().grace_seconds + 1)
    assert (await rig.services.engine.follow_ups.run_once()).fallback_steps == 1
    assert [(r.channel, r.state) for r in await rig.deliveries(notification_id)] == [
        ("apns", "fallback"),
        ("apns", "delivered"),
        ("inbox", "queued"),
    ]
    assert await outbox_events(rig.services) == [
        ("delivered", "apns"),
        ("fallback", "inbox"),
        ("token_dead", "apns"),
    ]


@contextmanager
def statements(*engines: AsyncEngine) -> Iterator[list[str]]:
    """The SQL the engines run while inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_an_app_without_a_receiver_costs_no_statement(rig: Rig) -> None:
    db = rig.services.db
    await rig.user("cat", {LIVE: "ios"})
    await rig.send(NotificationSpec(Content(body="first")), users=("cat",))
    with statements(db.write, db.read) as first:
        assert await rig.worker.run_once() == 1
    assert sum("receipt_endpoints" in s for s in first) == 1  # the subscriptions, read once...
    assert not any("receipt_outbox" in s for s in first)

    await rig.send(NotificationSpec(Content(body="second")), users=("cat",))
    with statements(db.write, db.read) as second:
        assert await rig.worker.run_once() == 1
    assert not any("receipt" in s for s in second)  # ...and trusted for a few seconds

    # A receiver set up now sees the outcomes recorded once that trust has run out.
    endpoints = ReceiptEndpoints(db, rig.clock, Sealer(rig.services.secret_key))
    await endpoints.put_endpoint(rig.app_id, "http://127.0.0.1:9/r", SECRET, ["delivered"])
    await rig.send(NotificationSpec(Content(body="third")), users=("cat",))
    assert await rig.worker.run_once() == 1
    assert await outbox_events(rig.services) == []
    rig.clock.advance(SUBSCRIPTIONS_TTL_SECONDS)
    await rig.send(NotificationSpec(Content(body="fourth")), users=("cat",))
    assert await rig.worker.run_once() == 1
    assert await outbox_events(rig.services) == [("delivered", "apns")]


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Services, ManualClock]]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        clock = ManualClock()
        settings = Settings(database_url=url, secret_key="receipts-suite-secret-0123456789abcdef")
        services = build_services(settings, clock=clock, rng=random.Random(5))
        try:
            yield services, clock
        finally:
            await services.close()


async def test_an_outcome_the_lease_guard_rejects_gets_no_receipt(
    store: tuple[Services, ManualClock],
) -> None:
    services, clock = store
    engine, lease = services.engine, 30.0
    app_id = (await AppRepository(services.db, clock).create_with_keys("shop")).app.id
    await DeviceRepository(services.db, clock).register_many(app_id, [DeviceRegistration("ios", LIVE)])
    endpoints = ReceiptEndpoints(services.db, clock, Sealer(services.secret_key))
    await endpoints.put_endpoint(app_id, "http://127.0.0.1:9/r", SECRET, ["delivered"])
    await engine.accept(app_id, AcceptRequest(NotificationSpec(Content(title="t")), Target(everyone=True)))
    now = clock.now()
    [stale] = await engine.queue.claim("w1", limit=1, now=now, lease_seconds=lease)
    [fresh] = await engine.queue.claim("w2", limit=1, now=now + lease, lease_seconds=lease)

    async def record(owner: str, claimed: ClaimedDelivery, at: float) -> None:
        """What a worker does with a delivered batch of one, the receipts in the same write."""
        update = DeliveryUpdate(claimed.id, DeliveryState.DELIVERED, 1, None, None, 200, sent=True)
        receipts = await engine.receipts.rows_for([Recorded(claimed, update, at)])
        assert len(receipts) == 1
        await engine.queue.record(owner, [update], at, receipts=receipts)

    await record("w1", stale, now + lease + 1)  # its lease was taken over: rejected
    assert await outbox_events(services) == []
    await record("w2", fresh, now + lease + 2)
    await record("w1", stale, now + lease + 3)  # late again, after the final outcome
    async with services.db.read.connect() as conn:
        [receipt] = (await conn.scalars(select(receipt_outbox.c.event))).all()
    assert (receipt["type"], receipt["delivery_id"]) == ("delivered", str(fresh.id))


async def test_receipt_receiver_api(services: Any, admin_headers: dict[str, str]) -> None:
    app = create_app(services)
    app.include_router(receipt_routes.router)
    async with serve_app(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        created = (await http.post("/v1/apps", json={"name": "shop"}, headers=admin_headers)).json()
        headers = {"authorization": f"Bearer {created['server_key']}"}
        url = f"/v1/apps/{created['id']}/receipts"
        body = {
            "url": "https://127.0.0.1:9/hook",
            "secret": SECRET,
            "events": ["failed", "delivered", "failed"],
        }
        put = await http.put(url, json=body, headers=headers)
        assert put.status_code == 200, put.text
        assert put.json()["events"] == ["delivered", "failed"]
        assert SECRET not in put.text
        assert (await http.get(url, headers=headers)).json() == put.json()
        short = await http.put(url, json={**body, "secret": "short"}, headers=headers)
        assert short.status_code == 422
        unknown = await http.put(url, json={**body, "events": ["opened"]}, headers=headers)
        assert unknown.status_code == 422
        bad_url = await http.put(url, json={**body, "url": "gopher://x"}, headers=headers)
        assert bad_url.json()["error"]["field"] == "url"
        assert (await http.delete(url, headers=headers)).status_code == 204
        assert (await http.get(url, headers=headers)).status_code == 404
