"""Experiments: import, idempotent assignments, and outcomes counted the same way in every arm."""

from __future__ import annotations

import pytest

from pushwise.domain.uplift.outcomes import ObservedEvent, outcome
from tests.integration.goal_events import Row, iso, post_events

pytestmark = pytest.mark.integration

HOUR = 3600.0


async def _experiment(client, shop, arms=("promo", "control"), control="control") -> str:
    body = {"name": "spring promo", "arms": list(arms), "control": control}
    answer = await client.post("/v1/experiments", json=body, headers=shop.server_headers)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert (created["arms"], created["control"], created["source"]) == (list(arms), control, "import")
    return str(created["id"])


async def test_assignments_are_stored_once_and_never_change_arm(client, make_app) -> None:
    shop = await make_app()
    experiment = await _experiment(client, shop)
    url = f"/v1/experiments/{experiment}/assignments"
    first = [{"user_id": f"u{i}", "arm": "promo" if i % 2 else "control"} for i in range(6)]
    answer = await client.post(url, json={"assignments": first}, headers=shop.server_headers)
    assert answer.json() == {"assigned": 6, "repeated": 0}

    again = await client.post(
        url, json={"assignments": [*first, {"user_id": "u9", "arm": "promo"}]}, headers=shop.server_headers
    )
    assert again.json() == {"assigned": 1, "repeated": 6}

    moved = [{"user_id": "u10", "arm": "promo"}, {"user_id": "u1", "arm": "control"}]
    conflict = await client.post(url, json={"assignments": moved}, headers=shop.server_headers)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "assignment_conflict"
    result = (await client.get(f"/v1/experiments/{experiment}", headers=shop.server_headers)).json()
    assert {arm: value["users"] for arm, value in result["arms"].items()} == {"promo": 4, "control": 3}
    assert result["goal"] is None


async def test_outcomes_use_the_same_window_in_every_arm(client, make_app, clock) -> None:
    shop = await make_app()
    experiment = await _experiment(client, shop)
    start = clock.now() - 5 * 24 * HOUR  # inside the events API's late window (7 days)
    window = 48 * HOUR
    assignments = [
        {"user_id": "p1", "arm": "promo", "at": iso(start)},
        {"user_id": "p2", "arm": "promo", "at": iso(start + HOUR)},
        {"user_id": "c1", "arm": "control", "at": iso(start)},
        {"user_id": "c2", "arm": "control", "at": iso(start + 2 * HOUR)},
    ]
    url = f"/v1/experiments/{experiment}/assignments"
    assert (await client.post(url, json={"assignments": assignments}, headers=shop.server_headers)).is_success
    rows = [
        Row("p1", "purchased", start, 10.0),  # at the window's opening instant: counts
        Row("p1", "purchased", start + window - 1, 5.0),  # the last second inside
        Row("p1", "purchased", start + window, 100.0),  # at the closing instant: outside
        Row("p2", "purchased", start + HOUR - 1, 7.0),  # before its own assignment
        Row("p2", "item_viewed", start + 2 * HOUR, 3.0),  # another event type
        Row("c1", "purchased", start + 10 * HOUR, 20.0, key="c1-order"),  # posted late, `at` inside
        Row("c2", "purchased", start + 3 * HOUR, None),  # no value: adds 0, but happened
    ]
    await post_events(client, shop.server_headers, rows)
    duplicate = Row("c1", "purchased", start + 10 * HOUR, 20.0, key="c1-order")  # the same event again
    too_late = Row("c2", "purchased", clock.now() - 8 * 24 * HOUR, 50.0)  # older than the late window
    answers = await post_events(client, shop.server_headers, [duplicate, too_late])
    assert (answers[0]["duplicates"], answers[0]["late"]) == (1, 1)
    query = {"goal_event": "purchased", "measure": "sum", "window_hours": 48}
    summed = (
        await client.get(f"/v1/experiments/{experiment}", params=query, headers=shop.server_headers)
    ).json()
    query["measure"] = "any"
    anyone = (
        await client.get(f"/v1/experiments/{experiment}", params=query, headers=shop.server_headers)
    ).json()

    def reference(user: str, at: float, measure: str) -> float:
        events = [ObservedEvent(r.at, r.value) for r in rows if r.user == user and r.type == "purchased"]
        return outcome(events, at, window, measure)  # type: ignore[arg-type]

    assigned = {"p1": start, "p2": start + HOUR, "c1": start, "c2": start + 2 * HOUR}
    for arm, users in (("promo", ("p1", "p2")), ("control", ("c1", "c2"))):
        for measure, result in (("sum", summed), ("any", anyone)):
            expected = sum(reference(u, assigned[u], measure) for u in users) / 2
            assert result["arms"][arm]["mean"] == pytest.approx(expected)
    assert summed["arms"]["promo"]["mean"] == pytest.approx(7.5)
    assert summed["arms"]["control"]["mean"] == pytest.approx(10.0)
    assert (anyone["arms"]["promo"]["mean"], anyone["arms"]["control"]["mean"]) == (0.5, 1.0)
    lo, hi = summed["arms"]["promo"]["ci"]
    assert lo <= 7.5 <= hi
    assert summed["goal"] == {"event": "purchased", "measure": "sum", "window_hours": 48}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "arms": ["a", "b"], "control": "c"}, "body"),
        ({"name": "x", "arms": ["a"], "control": "a"}, "arms"),
        ({"name": "x", "arms": ["a", "a"], "control": "a"}, "body"),
        ({"name": "", "arms": ["a", "b"], "control": "a"}, "name"),
    ],
)
async def test_bad_experiments_are_refused(client, make_app, body, field) -> None:
    shop = await make_app()
    answer = await client.post("/v1/experiments", json=body, headers=shop.server_headers)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error.get("field", "body") == field


async def test_unknown_arms_and_goals_without_events_are_refused(client, make_app) -> None:
    shop = await make_app()
    experiment = await _experiment(client, shop)
    url = f"/v1/experiments/{experiment}/assignments"
    body = {"assignments": [{"user_id": "u1", "arm": "promo"}, {"user_id": "u2", "arm": "promotion"}]}
    answer = await client.post(url, json=body, headers=shop.server_headers)
    assert answer.status_code == 422
    assert answer.json()["error"] | {"message": ""} == {
        "code": "unknown_arm",
        "field": "assignments[1].arm",
        "message": "",
    }
    result = (await client.get(f"/v1/experiments/{experiment}", headers=shop.server_headers)).json()
    assert result["arms"]["promo"]["users"] == 0  # nothing of the refused batch was stored

    no_events = await client.get(
        f"/v1/experiments/{experiment}", params={"goal_event": "custom:never"}, headers=shop.server_headers
    )
    assert no_events.status_code == 422
    assert no_events.json()["error"]["code"] == "goal_has_no_events"
    bad_measure = await client.get(
        f"/v1/experiments/{experiment}",
        params={"goal_event": "x", "measure": "max"},
        headers=shop.server_headers,
    )
    assert bad_measure.status_code == 422


async def test_experiments_belong_to_their_app(client, make_app) -> None:
    a, b = await make_app("a"), await make_app("b")
    experiment = await _experiment(client, a)
    assert (await client.get(f"/v1/experiments/{experiment}", headers=b.server_headers)).status_code == 404
    body = {"assignments": [{"user_id": "u1", "arm": "promo"}]}
    url = f"/v1/experiments/{experiment}/assignments"
    assert (await client.post(url, json=body, headers=b.server_headers)).status_code == 404
    assert (await client.post(url, json=body, headers=a.client_headers)).status_code == 403
    assert (await client.get(f"/v1/experiments/{experiment}", headers=a.server_headers)).status_code == 200
