"""Targeting by uplift over the HTTP API: a notification or campaign naming a model is sent only
where the model says it is worth its cost; the others are suppressed with reason `uplift` (trail,
counts, metrics), `gate/explain` shows the scores, a random holdout and an equal slice sent
without the model are kept and recorded, variants follow the model's pick, transactional
messages never meet a model, and the model is asked once per batch, never per delivery.
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from pushwise.serving import campaign_service
from pushwise.settings import Settings
from pushwise.store.schema import (
    deliveries,
    experiment_assignments,
    experiments,
    notifications,
    receipt_outbox,
)
from tests.integration.conftest import settings_on_engine
from tests.integration.test_uplift_models import _model, _trained, by_gender, moved_by_segment
from tests.integration.uplift_population import DAY, load, population

pytestmark = pytest.mark.integration

ARMS = ("promo", "control")
COST = 0.15  # a push pays only in segment a (true uplift 0.30; b's is 0.05, c's negative)
PUSH = {"content": {"title": "Sale", "body": "Half price"}, "fallback": {"channels": ["inbox"]}}


@pytest.fixture(params=["sqlite", "postgresql"])
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    async with settings_on_engine(request, tmp_path) as built:
        yield built


async def drain(services) -> None:
    worker = services.engine.worker()
    while await worker.run_once():
        pass


async def trained_shop(client, make_app, services, clock, chances=moved_by_segment, arms=ARMS, size=2000):
    shop = await make_app()
    users = population(size, arms, chances, seed=31)
    experiment = await load(client, shop.server_headers, users, arms, "control", clock.now() - 3 * DAY)
    model = await _trained(client, shop, services, await _model(client, shop, experiment, cost_per_send=0.0))
    return shop, users, model


async def delivered(client, shop, notification_id: str) -> list[dict[str, Any]]:
    path, items, cursor = f"/v1/notifications/{notification_id}/deliveries", [], None
    while True:
        params = {"cursor": cursor} if cursor else {}
        page = (await client.get(path, params=params, headers=shop.server_headers)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def test_a_targeted_send_goes_where_the_model_says_and_suppresses_the_rest(
    client, make_app, services, clock
) -> None:
    shop, users, model = await trained_shop(client, make_app, services, clock)
    probe = users[:400]
    ids = [u.external_id for u in probe]
    scored = await client.post(
        f"/v1/uplift-models/{model['id']}/score",
        json={"user_ids": ids, "cost_per_send": COST},
        headers=shop.server_headers,
    )
    decision = {s["user_id"]: s for s in scored.json()["scores"]}
    calls = Counter[int]()
    scorer = services.uplift_scorer
    asked = scorer.decide_batch

    async def counted(app_id, model_id, user_ids, cost):
        calls[len(user_ids)] += 1
        return await asked(app_id, model_id, user_ids, cost)

    scorer.decide_batch = counted
    await client.put(
        f"/v1/apps/{shop.id}/receipts",
        json={"url": "http://127.0.0.1:9/receipts", "secret": "s" * 32, "events": ["suppressed"]},
        headers=shop.server_headers,
    )
    body = {**PUSH, "to": {"user_ids": ids}, "uplift": {"model": model["id"], "cost_per_send": COST}}
    accepted = await client.post("/v1/notifications", json=body, headers=shop.server_headers)
    assert accepted.status_code == 202, accepted.text
    await drain(services)

    items = await delivered(client, shop, accepted.json()["id"])
    state = {d["user_id"]: (d["state"], d["reason"]) for d in items}
    assert len(state) == len(ids)
    # One model call per claimed batch (the worker's batch is 500), never one per delivery.
    assert sum(calls.values()) == 1
    held = {u for u, (s, _r) in state.items() if s == "held_out"}
    suppressed = {u for u, (s, r) in state.items() if s == "suppressed" and r == "uplift"}
    sent = {u for u, (s, _r) in state.items() if s == "delivered"}
    assert held | suppressed | sent == set(ids)
    assert 0.01 < len(held) / len(ids) < 0.10  # the default holdout: 5%
    assert suppressed
    assert all(not decision[u]["send"] for u in suppressed)
    explored = {u for u in sent if not decision[u]["send"]}  # the slice sent without the model
    assert len(explored) <= 0.12 * len(ids)
    segment = {u.external_id: u.attributes["segment"] for u in probe}
    assert Counter(segment[u] for u in suppressed)["a"] < 0.1 * len(suppressed)
    status = (
        await client.get(f"/v1/notifications/{accepted.json()['id']}", headers=shop.server_headers)
    ).json()
    assert status["counts"]["suppressed"] == len(suppressed)
    assert status["counts"]["held_out"] == len(held)

    one = next(d for d in items if d["user_id"] in suppressed)
    trail = (
        await client.get(
            f"/v1/notifications/{accepted.json()['id']}/deliveries/{one['id']}", headers=shop.server_headers
        )
    ).json()["trail"]
    gate = next(step for step in trail if step["kind"] == "gate")
    assert gate["detail"]["reason"] == "uplift"
    assert gate["detail"]["uplift"]["send"] is False
    assert gate["detail"]["uplift"]["uplift"]["promo"] == pytest.approx(
        decision[one["user_id"]]["uplift"]["promo"]
    )

    # The randomised users are the send's experiment: holdout and the slice sent without the model.
    async with services.db.read.connect() as conn:
        recorded = (
            await conn.execute(
                select(experiment_assignments.c.arm)
                .join(experiments, experiments.c.id == experiment_assignments.c.experiment_id)
                .where(experiments.c.source_id == accepted.json()["id"])
            )
        ).all()
    arms = Counter(row.arm for row in recorded)
    assert arms["holdout"] == len(held)
    assert 0 < arms["sent"] < 0.12 * len(ids)

    await services.monitoring.tally.flush()
    samples = {
        (s.name, s.labels.get("decision"), s.labels.get("reason")): s.value
        for family in text_string_to_metric_families((await client.get("/metrics")).text)
        for s in family.samples
        if s.labels.get("app") == shop.id
    }
    assert samples[("pushwise_gate_decisions_total", "suppress", "uplift")] == len(suppressed)
    async with services.db.read.connect() as conn:
        receipts = list((await conn.execute(select(receipt_outbox.c.event))).scalars())
    assert Counter(e["reason"] for e in receipts if e["type"] == "suppressed")["uplift"] == len(suppressed)


async def test_explain_shows_the_scores_and_agrees_with_the_send(client, make_app, services, clock) -> None:
    shop, users, model = await trained_shop(client, make_app, services, clock)
    scored = await client.post(
        f"/v1/uplift-models/{model['id']}/score",
        json={"user_ids": [u.external_id for u in users[:200]], "cost_per_send": COST},
        headers=shop.server_headers,
    )
    no = next(s for s in scored.json()["scores"] if not s["send"])
    yes = next(s for s in scored.json()["scores"] if s["send"])
    notification = {**PUSH, "uplift": {"model": model["id"], "cost_per_send": COST}}
    for score, decision in ((no, "suppress"), (yes, "send")):
        explained = await client.post(
            "/v1/gate/explain",
            json={"user_id": score["user_id"], "notification": notification},
            headers=shop.server_headers,
        )
        assert explained.status_code == 200, explained.text
        shown = explained.json()
        assert shown["decision"] == decision
        assert shown["uplift"]["send"] is score["send"]
        assert shown["uplift"]["uplift"]["promo"] == pytest.approx(score["uplift"]["promo"])
        step = next(s for s in shown["steps"] if s["check"] == "uplift")
        assert "promo" in step["detail"]
        if decision == "suppress":
            assert (shown["reason"], step["result"]) == ("uplift", "suppress")
    transactional = {**PUSH, "priority": "transactional"}
    explained = await client.post(
        "/v1/gate/explain",
        json={"user_id": no["user_id"], "notification": transactional},
        headers=shop.server_headers,
    )
    assert explained.json()["decision"] == "send"
    assert explained.json()["uplift"] is None


async def test_variants_in_uplift_mode_send_the_arm_the_model_picks(
    client, make_app, services, clock
) -> None:
    arms = ("men", "women", "control")
    shop, users, model = await trained_shop(client, make_app, services, clock, by_gender, arms, 2400)
    template = {
        "locales": {"en": {"title": "New in"}},
        "variants": [
            {"key": "men", "locales": {"en": {"title": "For him"}}},
            {"key": "women", "locales": {"en": {"title": "For her"}}},
        ],
    }
    assert (
        await client.put("/v1/templates/mail", json=template, headers=shop.server_headers)
    ).status_code in (200, 201)
    probe = users[:300]
    body = {
        "to": {"user_ids": [u.external_id for u in probe]},
        "template": "mail",
        "variants": {"mode": "uplift", "model": model["id"]},
        "fallback": {"channels": ["inbox"]},
    }
    accepted = await client.post("/v1/notifications", json=body, headers=shop.server_headers)
    assert accepted.status_code == 202, accepted.text
    await drain(services)
    async with services.db.read.connect() as conn:
        rows = (
            await conn.execute(
                select(deliveries.c.id, deliveries.c.variant, deliveries.c.state).where(
                    deliveries.c.notification_id == accepted.json()["id"]
                )
            )
        ).all()
    assert len(rows) == len(probe)
    sent = [row for row in rows if row.state == "delivered"]
    assert Counter(row.variant for row in sent).keys() == {"men", "women"}
    # Each user got the arm that moves them, apart from the small slice sent at random.
    gender = {u.external_id: u.attributes["gender"] for u in probe}
    items = await delivered(client, shop, accepted.json()["id"])
    variant = {str(row.id): row.variant for row in rows}
    chosen = [(d["user_id"], variant[d["id"]]) for d in items if d["state"] == "delivered"]
    right = sum(arm == ("men" if gender[user] == "m" else "women") for user, arm in chosen)
    assert right / len(chosen) > 0.85


async def test_bad_targeting_is_refused_with_a_reason(client, make_app, services, clock) -> None:
    shop, users, model = await trained_shop(client, make_app, services, clock, size=600)
    _other, _users, foreign = await trained_shop(client, make_app, services, clock, size=600)
    experiment = (await client.get(f"/v1/uplift-models/{model['id']}", headers=shop.server_headers)).json()
    waiting = await _model(client, shop, experiment["learn_from"]["experiments"][0])
    cases = [
        ({"priority": "transactional"}, 422, None),
        ({"uplift": {"model": "upm_nothing"}}, 422, "unknown_model"),
        ({"uplift": {"model": foreign["id"]}}, 422, "unknown_model"),  # another app's model
        ({"uplift": {"model": waiting}}, 409, "model_not_ready"),
        ({"uplift": {"model": model["id"], "cost_per_send": -1}}, 422, None),
        ({"variants": {"mode": "uplift"}}, 422, None),
    ]
    for change, status, code in cases:
        body = {
            **PUSH,
            "to": {"user_ids": [users[0].external_id]},
            "uplift": {"model": model["id"]},
            **change,
        }
        answer = await client.post("/v1/notifications", json=body, headers=shop.server_headers)
        assert answer.status_code == status, (change, answer.text)
        if code is not None:
            assert answer.json()["error"]["code"] == code
            assert answer.json()["error"]["field"] == "uplift.model"
    campaign = {
        "name": "targeted",
        "notification": {**PUSH, "to": {"all": True}, "uplift": {"model": "upm_no"}},
    }
    answer = await client.post("/v1/campaigns", json=campaign, headers=shop.server_headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "unknown_model")


async def test_a_campaign_targeted_by_a_model_suppresses_with_reason_uplift(
    client, make_app, services, clock
) -> None:
    shop, users, model = await trained_shop(client, make_app, services, clock)
    ids = [u.external_id for u in users[:150]]
    notification = {**PUSH, "to": {"user_ids": ids}, "uplift": {"model": model["id"], "cost_per_send": COST}}
    created = await client.post(
        "/v1/campaigns", json={"name": "targeted", "notification": notification}, headers=shop.server_headers
    )
    assert created.status_code == 201, created.text
    await campaign_service(services).runner.sweep()
    await drain(services)
    async with services.db.read.connect() as conn:
        states = Counter(
            (row.state, row.last_reason)
            for row in (
                await conn.execute(
                    select(deliveries.c.state, deliveries.c.last_reason)
                    .join(notifications, notifications.c.id == deliveries.c.notification_id)
                    .where(notifications.c.campaign_id == created.json()["id"])
                )
            ).all()
        )
    assert states[("suppressed", "uplift")] > 0
    assert sum(states.values()) == len(ids)
