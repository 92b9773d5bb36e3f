"""Delivery receipts: batched, signed, retried on a failing receiver, nothing lost."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request, Response

from pushwise.api.app import create_app
from pushwise.api.routes import receipts as receipt_routes
from pushwise.delivery.receipts import ReceiptSender, SenderOptions
from pushwise.domain.backoff import RetryPolicy
from pushwise.domain.notification import Content, Fallback, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind, delivered
from pushwise.domain.signatures import SIGNATURE_HEADER, verify
from pushwise.providers.base import Dispatch
from pushwise.store.receipts import ReceiptEndpoints, ReceiptOutbox
from pushwise.store.sealing import Sealer
from tests.integration.conftest import serve_app
from tests.integration.engine_rig import Rig, rig_fixture

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
