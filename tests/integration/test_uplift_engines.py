"""Experiments and uplift models on both engines: the planner's assignment records, outcomes over
the window, features read as of the assignment, training claims and scoring give the same results
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from pushwise.settings import Settings
from pushwise.store.experiments import record_send_assignments
from pushwise.store.schema import experiment_assignments, users
from pushwise.store.uplift_features import read_features
from pushwise.store.users import ensure_user_ids
from tests.integration.conftest import settings_on_engine
from tests.integration.goal_events import Row, post_events
from tests.integration.uplift_population import DAY, GOAL, load, population

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    async with settings_on_engine(request, tmp_path) as built:
        yield built


async def test_the_planner_records_holdout_and_variant_arms_once(client, make_app, services, clock) -> None:
    shop = await make_app()
    now = clock.now() - 3 * DAY

    def first_send(conn: Connection) -> str:
        ids = ensure_user_ids(conn, shop.id, ["ann", "bob", "cat"], now)
        arms = {ids["ann"]: "a", ids["bob"]: "b", ids["cat"]: "holdout"}
        return record_send_assignments(
            conn,
            shop.id,
            source="notification",
            source_id="ntf_1",
            arms=["a", "b", "holdout"],
            control="holdout",
            assignments=arms,
            at=now,
            model_id="upm_1",
        )

    def second_send(conn: Connection) -> str:
        ids = ensure_user_ids(conn, shop.id, ["ann", "dan"], now + 60)
        return record_send_assignments(
            conn,
            shop.id,
            source="notification",
            source_id="ntf_1",
            arms=["a", "b", "holdout"],
            control="holdout",
            assignments={ids["ann"]: "holdout", ids["dan"]: "b"},
            at=now + 60,
        )

    experiment = await services.db.transact(first_send)
    assert await services.db.transact(second_send) == experiment  # one experiment per notification
    shown = (await client.get(f"/v1/experiments/{experiment}", headers=shop.server_headers)).json()
    assert {arm: a["users"] for arm, a in shown["arms"].items()} == {"a": 1, "b": 2, "holdout": 1}
    assert (shown["source"], shown["source_id"], shown["model_id"]) == ("notification", "ntf_1", "upm_1")
    found = await services.uplift_trainer.models.uses(shop.id, "upm_1")
    assert [use.source_id for use in found] == ["ntf_1"]

    def stray(conn: Connection) -> str:
        ids = ensure_user_ids(conn, shop.id, ["eve"], now)
        return record_send_assignments(
            conn,
            shop.id,
            source="notification",
            source_id="ntf_2",
            arms=["a", "holdout"],
            control="holdout",
            assignments={ids["eve"]: "z"},
            at=now,
        )

    with pytest.raises(ValueError, match="unknown arms"):
        await services.db.transact(stray)


async def test_a_model_trains_and_scores_alike_on_both_engines(client, make_app, services, clock) -> None:
    shop = await make_app()
    users = population(
        1200,
        ("promo", "control"),
        lambda a: {"control": 0.1, "promo": 0.4 if a["segment"] == "a" else 0.1},
        seed=21,
    )
    assigned = clock.now() - 3 * DAY
    experiment = await load(client, shop.server_headers, users, ("promo", "control"), "control", assigned)
    # Behaviour before the assignment is a feature; after it, it must not be.
    await post_events(
        client,
        shop.server_headers,
        [
            Row(users[0].external_id, "app_open", assigned - DAY),
            Row(users[0].external_id, "app_open", assigned + 10),
        ],
    )
    body = {
        "name": "m",
        "learn_from": {"notifications": [], "experiments": [experiment]},
        "goal": {"event": GOAL, "measure": "any"},
        "window_hours": 48,
        "cost_per_send": 0.1,
    }
    model_id = (await client.post("/v1/uplift-models", json=body, headers=shop.server_headers)).json()["id"]
    assert await services.uplift_trainer.run_once() == model_id
    model = (await client.get(f"/v1/uplift-models/{model_id}", headers=shop.server_headers)).json()
    assert model["status"] == "ready", model["error"]
    learned = {column["name"] for column in model["learned_features"]}
    assert {"attributes.segment", "attributes.age"} <= learned
    assert await _last_active_days(services, experiment, users[0].external_id) == pytest.approx(1.0)
    assert model["validation"]["qini"] > 0.2
    ids = [u.external_id for u in users[:300]]
    scores = (
        await client.post(
            f"/v1/uplift-models/{model_id}/score", json={"user_ids": ids}, headers=shop.server_headers
        )
    ).json()["scores"]
    sent_a = [s["send"] for s, u in zip(scores, users, strict=False) if u.attributes["segment"] == "a"]
    sent_other = [s["send"] for s, u in zip(scores, users, strict=False) if u.attributes["segment"] != "a"]
    assert sum(sent_a) / len(sent_a) > 0.8
    assert sum(sent_other) / len(sent_other) < 0.2


async def _last_active_days(services, experiment: str, external_id: str) -> object:
    """The feature as training reads it: as of the assignment, so the later app_open is not seen."""

    def read(conn: Connection) -> object:
        probe = (
            select(
                experiment_assignments.c.experiment_id,
                experiment_assignments.c.user_id,
                experiment_assignments.c.at.label("t"),
            )
            .join(users, users.c.id == experiment_assignments.c.user_id)
            .where(experiment_assignments.c.experiment_id == experiment, users.c.external_id == external_id)
            .subquery()
        )
        (features,) = read_features(conn, probe, services.uplift_trainer._features).values()
        return features["last_active_days"]

    return await services.db.query(read)
