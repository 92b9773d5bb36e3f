"""Where a suppression shows: the delivery, its trail, the notification's counts, /metrics, receipts;
and the gate's batch read giving the same state on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from pushwise.domain.audience.learning import LearningOptions
from pushwise.domain.audience.preferences import Category, PreferenceChange
from pushwise.domain.clock import ManualClock
from pushwise.domain.gate import GateDelivery, Suppress, decide
from pushwise.store.apps import AppRepository
from pushwise.store.categories import CategoryRepository
from pushwise.store.db import open_database
from pushwise.store.gate_state import GateStates, StateRequest
from pushwise.store.preferences import PreferenceRepository
from pushwise.store.schema import receipt_outbox
from pushwise.store.users import UserRepository
from tests.integration.pg_databases import fresh_store

pytestmark = pytest.mark.integration


async def test_a_suppression_is_recorded_everywhere_a_person_looks(client, make_app, services) -> None:
    app = await make_app()
    headers = app.server_headers
    await client.put(
        f"/v1/apps/{app.id}/categories", json=[{"key": "promotions", "name": "Promotions"}], headers=headers
    )
    await client.put(
        f"/v1/apps/{app.id}/receipts",
        json={"url": "http://127.0.0.1:9/receipts", "secret": "s" * 32, "events": ["suppressed"]},
        headers=headers,
    )
    for user in ("ann", "bob"):
        await client.put(f"/v1/users/{user}", json={}, headers=headers)
    await client.patch(
        "/v1/users/ann/preferences", json={"categories": {"promotions": {"inbox": False}}}, headers=headers
    )
    sent = await client.post(
        "/v1/notifications",
        json={
            "to": {"user_ids": ["ann", "bob"]},
            "content": {"title": "Sale", "body": "Half price"},
            "category": "promotions",
            "fallback": {"channels": ["inbox"]},
        },
        headers=headers,
    )
    notification_id = sent.json()["id"]
    worker = services.engine.worker()
    while await worker.run_once():
        pass

    status = (await client.get(f"/v1/notifications/{notification_id}", headers=headers)).json()
    assert (status["counts"]["suppressed"], status["counts"]["delivered"]) == (1, 1)
    page = await client.get(
        f"/v1/notifications/{notification_id}/deliveries", params={"state": "suppressed"}, headers=headers
    )
    [item] = page.json()["items"]
    assert (item["user_id"], item["attempts"]) == ("ann", 0)
    assert item["last_error"]["reason"] == "opted_out:promotions"
    one = await client.get(f"/v1/notifications/{notification_id}/deliveries/{item['id']}", headers=headers)
    gate_steps = [step for step in one.json()["trail"] if step["kind"] == "gate"]
    assert [step["detail"] for step in gate_steps] == [
        {"decision": "suppress", "reason": "opted_out:promotions"}
    ]

    await services.monitoring.tally.flush()
    samples = {
        (s.name, s.labels.get("decision"), s.labels.get("outcome"), s.labels.get("reason")): s.value
        for family in text_string_to_metric_families((await client.get("/metrics")).text)
        for s in family.samples
        if s.labels.get("app") == app.id
    }
    assert samples[("pushwise_gate_decisions_total", "suppress", None, "opted_out:promotions")] == 1
    assert samples[("pushwise_deliveries_total", None, "suppressed", "opted_out:promotions")] == 1

    async with services.db.read.connect() as conn:
        events = list((await conn.execute(select(receipt_outbox.c.event))).scalars())
    assert [(e["type"], e["reason"], e["delivery_id"]) for e in events] == [
        ("suppressed", "opted_out:promotions", item["id"])
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        request.getfixturevalue("postgres_server")
    return str(request.param)


async def test_the_batch_read_gives_the_same_state_on_both_engines(engine, request, tmp_path: Path) -> None:
    server = request.getfixturevalue("postgres_server") if engine == "postgresql" else None
    async with fresh_store(engine, server, tmp_path) as url:
        db = open_database(url)
        clock = ManualClock()
        try:
            app = (await AppRepository(db, clock).create_with_keys("shop")).app.id
            other = (await AppRepository(db, clock).create_with_keys("other")).app.id
            await CategoryRepository(db, clock).replace(
                app,
                [
                    Category("promotions", "Promotions", default_on=False, channels=("apns", "email")),
                    Category("orders", "Orders"),
                ],
            )
            await CategoryRepository(db, clock).replace(other, [Category("promotions", "P")])
            ann, _ = await UserRepository(db, clock).upsert(app, "ann", {})
            bob, _ = await UserRepository(db, clock).upsert(app, "bob", {})
            prefs = PreferenceRepository(db, clock)
            await prefs.change(
                app,
                ann.id,
                PreferenceChange(
                    cells={("promotions", "apns"): True, ("orders", "inbox"): False},
                    unsubscribed=frozenset({"email", "webpush"}),
                ),
            )
            states = GateStates(db, LearningOptions.defaults())
            policies = await states.policies({app}, (), clock.now())
            users = {ann.id, bob.id, "nobody"}
            asked = StateRequest(
                user_ids=users,
                subjects=users,
                keys={"promotions", "orders", "x"},
                channels={"apns", "email", "inbox"},
            )
            state = await states.state_of(asked, policies, clock.now())
        finally:
            await db.dispose()
    ann_state = state.user(ann.id)
    assert dict(ann_state.preferences.choices) == {("promotions", "apns"): True, ("orders", "inbox"): False}
    assert ann_state.preferences.unsubscribed == {"email"}  # webpush is no channel of this batch: not read
    assert state.user(bob.id).preferences.choices == {}
    policy = state.policy(app)
    assert policy.categories["promotions"].channels == ("apns", "email")
    assert policy.categories["promotions"].default_on is False
    assert policy.categories["orders"].channels is None
    assert state.policy(other).categories == {}  # not asked for: another app's categories stay out
    marketing = GateDelivery("apns", "promotions", transactional=False)
    assert decide(marketing, ann_state, policy, 0.0) != Suppress("opted_out:promotions")
    assert decide(marketing, state.user(bob.id), policy, 0.0) == Suppress("opted_out:promotions")
