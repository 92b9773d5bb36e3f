"""`/v1/uplift-models`: bad requests refused with clear errors; one app never reaches another's models."""

from __future__ import annotations

import importlib.util

import pytest

from tests.integration.goal_events import Row, iso, post_events
from tests.integration.uplift_population import DAY, GOAL

pytestmark = pytest.mark.integration


async def _experiment(client, shop, clock) -> str:
    body = {"name": "old promo", "arms": ["promo", "control"], "control": "control"}
    experiment = (await client.post("/v1/experiments", json=body, headers=shop.server_headers)).json()["id"]
    at = iso(clock.now() - 3 * DAY)
    assignments = [{"user_id": f"u{i}", "arm": "promo" if i % 2 else "control", "at": at} for i in range(40)]
    url = f"/v1/experiments/{experiment}/assignments"
    assert (await client.post(url, json={"assignments": assignments}, headers=shop.server_headers)).is_success
    await post_events(client, shop.server_headers, [Row("u1", GOAL, clock.now() - 2 * DAY)])
    return str(experiment)


def _body(experiment: str, **changes) -> dict:
    return {
        "name": "m",
        "learn_from": {"experiments": [experiment]},
        "goal": {"event": GOAL, "measure": "any"},
        "window_hours": 48,
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"learn_from": {"experiments": ["exp_nope"]}}, 422, "unknown_source", "learn_from.experiments[0]"),
        (
            {"learn_from": {"notifications": ["ntf_nope"]}},
            422,
            "unknown_source",
            "learn_from.notifications[0]",
        ),
        ({"learn_from": {}}, 422, "validation_error", "learn_from"),
        ({"goal": {"event": "custom:never", "measure": "sum"}}, 422, "goal_has_no_events", "goal.event"),
        ({"goal": {"event": GOAL, "measure": "max"}}, 422, "validation_error", "goal.measure"),
        ({"cost_per_send": -1}, 422, "validation_error", "cost_per_send"),
        ({"features": ["attributes.age", "shoe_size"]}, 422, "validation_error", "features[1]"),
        ({"window_hours": 0}, 422, "validation_error", "window_hours"),
    ],
)
async def test_bad_models_are_refused(client, make_app, clock, changes, status, code, field) -> None:
    shop = await make_app()
    experiment = await _experiment(client, shop, clock)
    answer = await client.post(
        "/v1/uplift-models", json=_body(experiment, **changes), headers=shop.server_headers
    )
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert (error["code"], error.get("field")) == (code, field)


async def test_models_and_their_sources_belong_to_one_app(client, make_app, services, clock) -> None:
    a, b = await make_app("a"), await make_app("b")
    experiment = await _experiment(client, a, clock)
    await post_events(client, b.server_headers, [Row("u1", GOAL, clock.now() - DAY)])
    stolen = await client.post("/v1/uplift-models", json=_body(experiment), headers=b.server_headers)
    assert stolen.status_code == 422  # another app's experiment is no source of b's
    assert stolen.json()["error"]["code"] == "unknown_source"

    created = await client.post("/v1/uplift-models", json=_body(experiment), headers=a.server_headers)
    model = created.json()["id"]
    assert await services.uplift_trainer.run_once() == model
    mine = await client.get(f"/v1/uplift-models/{model}", headers=a.server_headers)
    assert mine.json()["status"] == "ready", mine.json()["error"]
    assert (await client.get(f"/v1/uplift-models/{model}", headers=b.server_headers)).status_code == 404
    score = {"user_ids": ["u1"]}
    assert (
        await client.post(f"/v1/uplift-models/{model}/score", json=score, headers=b.server_headers)
    ).status_code == 404
    assert (
        await client.post(f"/v1/uplift-models/{model}/score", json=score, headers=a.client_headers)
    ).status_code == 403
    mine_scored = await client.post(f"/v1/uplift-models/{model}/score", json=score, headers=a.server_headers)
    assert mine_scored.status_code == 200


async def test_unknown_users_are_scored_as_users_with_no_features(client, make_app, services, clock) -> None:
    shop = await make_app()
    experiment = await _experiment(client, shop, clock)
    model = (
        await client.post("/v1/uplift-models", json=_body(experiment), headers=shop.server_headers)
    ).json()["id"]
    await services.uplift_trainer.run_once()
    answer = await client.post(
        f"/v1/uplift-models/{model}/score",
        json={"user_ids": ["stranger", "u1", "u2"]},
        headers=shop.server_headers,
    )
    assert answer.status_code == 200, answer.text
    scores = answer.json()["scores"]
    assert [s["user_id"] for s in scores] == ["stranger", "u1", "u2"]
    assert set(scores[0]["uplift"]) == {"promo"}
    too_many = await client.post(
        f"/v1/uplift-models/{model}/score", json={"user_ids": ["x"] * 1001}, headers=shop.server_headers
    )
    assert too_many.status_code == 422


async def test_without_the_learning_extra_the_answer_names_it(client, make_app, clock, monkeypatch) -> None:
    shop = await make_app()
    experiment = await _experiment(client, shop, clock)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a)
    )
    answer = await client.post("/v1/uplift-models", json=_body(experiment), headers=shop.server_headers)
    assert answer.status_code == 501
    error = answer.json()["error"]
    assert error["code"] == "uplift_unavailable"
    assert "pushwise[uplift]" in error["message"]
