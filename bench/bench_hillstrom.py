"""The Hillstrom e-mail experiment replayed through pushwise's HTTP API: import, train, score, evaluate.

    python bench/bench_hillstrom.py PATH/hillstrom.csv.zip [--seed 1]

64,000 customers were randomised to a men's e-mail, a women's e-mail or none, and
followed for two weeks (visit, conversion, spend). Here a real `pushwise serve`
process gets: the customers as users with their attributes (`POST /v1/users/batch`),
the experiment split by a seeded coin into a training half and a test half (two
imported experiments, `POST /v1/experiments` and `/assignments`), and the outcomes as
events (`POST /v1/events`: `custom:visit`, `custom:conversion`, and `purchased` with
the spend as its value). Two models learn from the training half in the server's
background trainer (visit: `any` at 0.06 per e-mail; spend: `sum` at $0.50), and the
test half is scored through `POST /v1/uplift-models/{id}/score` at three costs each.

Every policy is evaluated on the test half by inverse propensity (each arm had
probability 1/3), with 95% intervals: the model's decision (with its fall-back), the
personalised policy without fall-back, each arm to everybody, nobody, and a random arm.
Qini and AUUC are computed on the test half from the uplift the API returned.

The assignments are placed 15 days ago and the outcomes 7 days after them, so the
two-week window has closed; the server's late window for events is raised to 30 days
for the replay (`PUSHWISE_EVENT_LATE_WINDOW_DAYS`).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from bench_apns import PushwiseServer

from pushwise.domain.uplift.policy import LoggedRow, PolicyValue, difference, value
from pushwise.domain.uplift.validation import ScoredRow, normalised_area

DAY = 86400.0
ARMS = {"Mens E-Mail": "mens", "Womens E-Mail": "womens", "No E-Mail": "control"}
NUMBERS = ("recency", "history", "mens", "womens", "newbie")
CATEGORIES = ("history_segment", "zip_code", "channel")
WINDOW_HOURS = 14 * 24
GOALS = {
    "visit": {"event": "custom:visit", "measure": "any", "cost": 0.06, "costs": (0.0, 0.06, 0.09)},
    "spend": {"event": "purchased", "measure": "sum", "cost": 0.5, "costs": (0.1, 0.5, 1.0)},
}


@dataclass(frozen=True)
class Customer:
    external_id: str
    attributes: dict[str, Any]
    arm: str
    visit: float
    conversion: float
    spend: float


def read_customers(path: str) -> list[Customer]:
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
    return [
        Customer(
            f"h{i:05d}",
            {**{k: float(row[k]) for k in NUMBERS}, **{k: row[k] for k in CATEGORIES}},
            ARMS[row["segment"]],
            float(row["visit"]),
            float(row["conversion"]),
            float(row["spend"]),
        )
        for i, row in enumerate(rows)
    ]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


async def post_all(
    client: httpx.AsyncClient, url: str, key: str, items: list[Any], size: int, headers: Any
) -> None:
    for start in range(0, len(items), size):
        answer = await client.post(url, json={key: items[start : start + size]}, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:300]}")


async def import_all(
    client: httpx.AsyncClient, headers: Any, customers: list[Customer], halves: dict[str, list[Customer]]
) -> dict[str, str]:
    users = [{"external_id": c.external_id, "attributes": c.attributes} for c in customers]
    await post_all(client, "/v1/users/batch", "users", users, 1000, headers)
    assigned_at = time.time() - 15 * DAY
    experiments = {}
    for half, members in halves.items():
        body = {"name": f"hillstrom {half}", "arms": ["mens", "womens", "control"], "control": "control"}
        experiment = (await client.post("/v1/experiments", json=body, headers=headers)).json()["id"]
        assignments = [{"user_id": c.external_id, "arm": c.arm, "at": iso(assigned_at)} for c in members]
        await post_all(
            client, f"/v1/experiments/{experiment}/assignments", "assignments", assignments, 10_000, headers
        )
        experiments[half] = experiment
    at = iso(assigned_at + 7 * DAY)
    events: list[dict[str, Any]] = []
    for c in customers:
        if c.visit:
            events.append(
                {"id": f"{c.external_id}-visit", "type": "custom:visit", "user_id": c.external_id, "at": at}
            )
        if c.conversion:
            events.append(
                {
                    "id": f"{c.external_id}-conv",
                    "type": "custom:conversion",
                    "user_id": c.external_id,
                    "at": at,
                }
            )
        if c.spend:
            events.append(
                {
                    "id": f"{c.external_id}-buy",
                    "type": "purchased",
                    "user_id": c.external_id,
                    "at": at,
                    "value": c.spend,
                }
            )
    await post_all(client, "/v1/events", "events", events, 1000, headers)
    return experiments


async def train_model(client: httpx.AsyncClient, headers: Any, experiment: str, goal: str) -> dict[str, Any]:
    spec = GOALS[goal]
    body = {
        "name": f"hillstrom {goal}",
        "learn_from": {"experiments": [experiment]},
        "goal": {"event": spec["event"], "measure": spec["measure"]},
        "window_hours": WINDOW_HOURS,
        "cost_per_send": spec["cost"],
        "seed": 1,
    }
    answer = await client.post("/v1/uplift-models", json=body, headers=headers)
    answer.raise_for_status()
    model_id = answer.json()["id"]
    while True:
        model = (await client.get(f"/v1/uplift-models/{model_id}", headers=headers)).json()
        if model["status"] != "training":
            if model["status"] != "ready":
                raise RuntimeError(f"model {goal} failed: {model['error']}")
            return dict(model)
        await asyncio.sleep(0.5)


async def score(
    client: httpx.AsyncClient, headers: Any, model_id: str, customers: Sequence[Customer], cost: float
) -> tuple[list[dict[str, Any]], float]:
    started = time.perf_counter()
    scores: list[dict[str, Any]] = []
    for start in range(0, len(customers), 1000):
        body = {"user_ids": [c.external_id for c in customers[start : start + 1000]], "cost_per_send": cost}
        answer = await client.post(f"/v1/uplift-models/{model_id}/score", json=body, headers=headers)
        answer.raise_for_status()
        scores += answer.json()["scores"]
    return scores, time.perf_counter() - started


def outcome(customer: Customer, goal: str) -> float:
    return customer.visit if goal == "visit" else customer.spend


def show(label: str, policy: PolicyValue, best: PolicyValue | None) -> None:
    e = policy.estimate
    line = f"  {label:34}{e.value:>9.4f}  [{e.low:.4f}, {e.high:.4f}]  sends {policy.send_fraction:6.1%}"
    if best is not None:
        gap = difference(policy, best)
        line += f"  vs best fixed {gap.value:+.4f} [{gap.low:+.4f}, {gap.high:+.4f}]"
    print(line)


def evaluate(
    goal: str, test: list[Customer], scores: list[dict[str, Any]], cost: float, seed: int
) -> dict[str, Any]:
    rows = [LoggedRow(c.arm, 1 / 3, outcome(c, goal)) for c in test]
    decided = [s["best_arm"] if s["send"] else "control" for s in scores]
    personal = [
        max(s["uplift"], key=s["uplift"].get) if max(s["uplift"].values()) > cost else "control"
        for s in scores
    ]
    rng = random.Random(seed)
    fixed = {
        name: value(rows, [arm] * len(rows), "control", cost)
        for name, arm in (("all:mens", "mens"), ("all:womens", "womens"), ("none", "control"))
    }
    best_name = max(fixed, key=lambda n: fixed[n].estimate.value)
    best = fixed[best_name]
    model = value(rows, decided, "control", cost)
    print(f" cost {cost}: best fixed policy {best_name}")
    show("model's decision", model, best)
    show("personalised (no fall-back)", value(rows, personal, "control", cost), best)
    for name, policy in fixed.items():
        show(name, policy, None)
    show(
        "random arm",
        value(rows, [rng.choice(["mens", "womens", "control"]) for _ in rows], "control", cost),
        best,
    )
    return {"model": model, "best": best, "best_name": best_name}


def ranking(goal: str, test: list[Customer], scores: list[dict[str, Any]]) -> None:
    for arm in ("womens", "mens"):
        rows = [
            ScoredRow(s["uplift"][arm], c.arm == arm, outcome(c, goal))
            for c, s in zip(test, scores, strict=True)
            if c.arm in (arm, "control")
        ]
        print(
            f"  {arm} vs none: Qini {normalised_area(rows, 'qini'):+.4f}"
            f"  AUUC {normalised_area(rows, 'uplift'):+.4f}"
        )


async def replay(
    client: httpx.AsyncClient, headers: Any, halves: dict[str, list[Customer]], seed: int
) -> None:
    customers = halves["train"] + halves["test"]
    started = time.perf_counter()
    experiments = await import_all(client, headers, customers, halves)
    took = time.perf_counter() - started
    print(f"imported {len(customers)} users, 2 experiments and their events in {took:.1f} s")
    print(f"training half {len(halves['train'])} users, test half {len(halves['test'])}")
    query = {"goal_event": "custom:visit", "measure": "any", "window_hours": WINDOW_HOURS}
    check = await client.get(f"/v1/experiments/{experiments['train']}", params=query, headers=headers)
    rates = {arm: round(a["mean"], 4) for arm, a in check.json()["arms"].items()}
    print("training half, visit rate per arm (GET /v1/experiments):", rates)
    for goal in GOALS:
        started = time.perf_counter()
        model = await train_model(client, headers, experiments["train"], goal)
        print(f"\n== {goal}: trained in {time.perf_counter() - started:.1f} s (request to ready)")
        validation = model["validation"]
        figures = [
            f"{arm} Qini {v['qini']:+.4f} AUUC {v['auuc']:+.4f}" for arm, v in validation["by_arm"].items()
        ]
        print(
            f"  cross-fitted on the training half: {', '.join(figures)}; fall-back {validation['fallback']}"
        )
        for cost in GOALS[goal]["costs"]:
            scores, seconds = await score(client, headers, model["id"], halves["test"], cost)
            print(f" scored {len(scores)} users in {seconds:.2f} s ({len(scores) / seconds:,.0f} users/s)")
            if cost == GOALS[goal]["cost"]:
                print(" test half, ranking by the uplift the API returned:")
                ranking(goal, halves["test"], scores)
            result = evaluate(goal, halves["test"], scores, cost, seed)
            if goal == "visit" and cost == 0.06:
                goal_line(result)


def goal_line(result: dict[str, Any]) -> None:
    model_value, best = result["model"], result["best"]
    fewer = 1 - model_value.send_fraction / max(best.send_fraction, 1e-9)
    within = model_value.estimate.value >= best.estimate.low
    print(f" GOAL (visit at 0.06): value within the best fixed policy's interval: {within}")
    print(
        f" GOAL (visit at 0.06): e-mails {fewer:+.1%} fewer than {result['best_name']} (goal: at least 20%)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", help="hillstrom.csv.zip (or a zip holding hillstrom.csv)")
    parser.add_argument("--seed", type=int, default=1, help="the coin that splits training and test halves")
    parser.add_argument("--port", type=int, default=18096)
    args = parser.parse_args()
    customers = read_customers(args.path)
    coin = random.Random(args.seed)
    halves: dict[str, list[Customer]] = {"train": [], "test": []}
    for customer in customers:
        halves["train" if coin.random() < 0.5 else "test"].append(customer)
    env = {"PUSHWISE_EVENT_LATE_WINDOW_DAYS": "30", "PUSHWISE_UPLIFT_POLL_SECONDS": "0.5"}
    with tempfile.TemporaryDirectory() as workdir:
        server = PushwiseServer(workdir, args.port, env)
        try:
            async with httpx.AsyncClient(base_url=server.base, timeout=600) as client:
                await server.wait_ready(client)
                admin = {"authorization": f"Bearer {server.admin_key}"}
                app = (await client.post("/v1/apps", json={"name": "hillstrom"}, headers=admin)).json()
                await replay(client, {"authorization": f"Bearer {app['server_key']}"}, halves, args.seed)
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
