"""Synthetic randomised populations with known effects, loaded through the real API.

Each user has attributes, a true outcome probability per arm (so a true uplift), and
a seeded draw of arm and outcome; users, the experiment, its assignments and the
goal's events all go through `POST /v1/users/batch`, `/v1/experiments` and
`/v1/events`, as an app would send them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from pushwise.domain.uplift.policy import LoggedRow
from tests.integration.goal_events import Row, iso, post_events

DAY = 86400.0
GOAL = "purchased"


@dataclass(frozen=True)
class SimUser:
    external_id: str
    attributes: dict[str, Any]
    chance: Mapping[str, float]  # arm -> probability of the goal
    arm: str
    bought: bool


Chances = Callable[[dict[str, Any]], Mapping[str, float]]


def population(
    size: int, arms: Sequence[str], chances: Chances, seed: int, *, segments: Sequence[str] = ("a", "b", "c")
) -> list[SimUser]:
    rng = random.Random(seed)
    users = []
    for i in range(size):
        attributes = {"segment": rng.choice(segments), "age": rng.randint(18, 70), "gender": rng.choice("mf")}
        chance = chances(attributes)
        arm = rng.choice(list(arms))
        users.append(SimUser(f"u{i:05d}", attributes, chance, arm, rng.random() < chance[arm]))
    return users


def true_uplift(user: SimUser, arm: str, control: str) -> float:
    return user.chance[arm] - user.chance[control]


def logged(users: Sequence[SimUser], arms: Sequence[str]) -> list[LoggedRow]:
    return [LoggedRow(u.arm, 1 / len(arms), 1.0 if u.bought else 0.0) for u in users]


async def load(
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    users: Sequence[SimUser],
    arms: Sequence[str],
    control: str,
    assigned_at: float,
    bought_after: float = DAY,
) -> str:
    """Users, experiment, assignments and purchase events; returns the experiment's id."""
    for start in range(0, len(users), 1000):
        body = {
            "users": [
                {"external_id": u.external_id, "attributes": u.attributes}
                for u in users[start : start + 1000]
            ]
        }
        assert (await client.post("/v1/users/batch", json=body, headers=dict(headers))).status_code == 200
    created = await client.post(
        "/v1/experiments",
        json={"name": "synthetic", "arms": list(arms), "control": control},
        headers=dict(headers),
    )
    experiment = str(created.json()["id"])
    assignments = [{"user_id": u.external_id, "arm": u.arm, "at": iso(assigned_at)} for u in users]
    answer = await client.post(
        f"/v1/experiments/{experiment}/assignments", json={"assignments": assignments}, headers=dict(headers)
    )
    assert answer.status_code == 200, answer.text
    events = [Row(u.external_id, GOAL, assigned_at + bought_after) for u in users if u.bought]
    await post_events(client, headers, events)
    return experiment
