"""Uplift models at scale: training time for 100,000 users, and the scoring rate (goal: >= 20,000 users/s).

    python bench/bench_uplift.py [--users 100000] [--rounds 3] [--concurrency 4]

A real `pushwise serve` process on a fresh SQLite file gets a synthetic randomised
population (attributes, a two-arm experiment, purchase events) through the API; its
background trainer trains the model (the figure: request to `ready`). Then every
user is scored through `POST /v1/uplift-models/{id}/score`, 1,000 per call, with
`--concurrency` calls in flight. The ceiling in the same run: the same model,
loaded in this process, deciding the same batches from features already in memory
(no HTTP, no database): what prediction and the decision rule alone cost.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from bench_apns import PushwiseServer
from bench_hillstrom import iso, post_all

from pushwise.uplift.loaded import LoadedModel

DAY = 86400.0
PLANS = ("free", "silver", "gold")


def population(size: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    people = []
    for i in range(size):
        attributes = {"age": rng.randint(18, 80), "plan": rng.choice(PLANS), "orders": rng.randint(0, 30)}
        arm = rng.choice(("promo", "control"))
        effect = {"free": 0.0, "silver": 0.05, "gold": 0.2}[attributes["plan"]]
        bought = rng.random() < 0.1 + (effect if arm == "promo" else 0.0)
        people.append({"id": f"s{i:06d}", "attributes": attributes, "arm": arm, "bought": bought})
    return people


async def load(client: httpx.AsyncClient, headers: Any, people: list[dict[str, Any]]) -> str:
    users = [{"external_id": p["id"], "attributes": p["attributes"]} for p in people]
    await post_all(client, "/v1/users/batch", "users", users, 1000, headers)
    body = {"name": "bench", "arms": ["promo", "control"], "control": "control"}
    experiment = (await client.post("/v1/experiments", json=body, headers=headers)).json()["id"]
    at = time.time() - 3 * DAY
    assignments = [{"user_id": p["id"], "arm": p["arm"], "at": iso(at)} for p in people]
    await post_all(
        client, f"/v1/experiments/{experiment}/assignments", "assignments", assignments, 10_000, headers
    )
    events = [
        {"id": f"{p['id']}-buy", "type": "purchased", "user_id": p["id"], "at": iso(at + DAY)}
        for p in people
        if p["bought"]
    ]
    await post_all(client, "/v1/events", "events", events, 1000, headers)
    return str(experiment)


async def train(client: httpx.AsyncClient, headers: Any, experiment: str) -> tuple[str, float]:
    body = {
        "name": "bench",
        "learn_from": {"experiments": [experiment]},
        "goal": {"event": "purchased", "measure": "any"},
        "window_hours": 48,
        "cost_per_send": 0.05,
    }
    started = time.perf_counter()
    model_id = (await client.post("/v1/uplift-models", json=body, headers=headers)).json()["id"]
    while True:
        model = (await client.get(f"/v1/uplift-models/{model_id}", headers=headers)).json()
        if model["status"] == "ready":
            return str(model_id), time.perf_counter() - started
        if model["status"] == "failed":
            raise RuntimeError(model["error"])
        await asyncio.sleep(0.2)


async def score_all(
    client: httpx.AsyncClient, headers: Any, model_id: str, ids: list[str], concurrency: int
) -> float:
    batches = [ids[start : start + 1000] for start in range(0, len(ids), 1000)]
    queue: asyncio.Queue[list[str]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def caller() -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            answer = await client.post(
                f"/v1/uplift-models/{model_id}/score", json={"user_ids": batch}, headers=headers
            )
            answer.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return len(ids) / (time.perf_counter() - started)


def ceiling(server: PushwiseServer, model_id: str, people: list[dict[str, Any]]) -> float:
    """The model alone: load it from the server's database and decide the same batches in memory."""
    import sqlite3

    import orjson

    connection = sqlite3.connect(server.db_path)
    summary, spec, blob = connection.execute(
        "SELECT summary, spec, artifact FROM uplift_models WHERE id = ?", (model_id,)
    ).fetchone()
    connection.close()
    model = LoadedModel.of(orjson.loads(summary), blob, float(orjson.loads(spec)["cost_per_send"]))
    features = [{f"attributes.{k}": v for k, v in p["attributes"].items()} for p in people]
    model.decide(features[:1000])
    started = time.perf_counter()
    for start in range(0, len(features), 1000):
        model.decide(features[start : start + 1000])
    return len(features) / (time.perf_counter() - started)


async def one_round(args: argparse.Namespace, port: int) -> dict[str, float]:
    people = population(args.users, seed=3)
    with tempfile.TemporaryDirectory() as workdir:
        server = PushwiseServer(workdir, port, {"PUSHWISE_UPLIFT_POLL_SECONDS": "0.2"})
        try:
            async with httpx.AsyncClient(base_url=server.base, timeout=600) as client:
                await server.wait_ready(client)
                admin = {"authorization": f"Bearer {server.admin_key}"}
                app = (await client.post("/v1/apps", json={"name": "bench"}, headers=admin)).json()
                headers = {"authorization": f"Bearer {app['server_key']}"}
                experiment = await load(client, headers, people)
                model_id, trained = await train(client, headers, experiment)
                ids = [p["id"] for p in people]
                await score_all(client, headers, model_id, ids[:2000], 1)  # load the model, warm up
                result = {"train_s": trained}
                for concurrency in sorted({1, args.concurrency}):
                    result[f"api_c{concurrency}"] = await score_all(
                        client, headers, model_id, ids, concurrency
                    )
                result["ceiling"] = ceiling(server, model_id, people)
                return result
        finally:
            server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=18097)
    args = parser.parse_args()
    rounds = [await one_round(args, args.port + i) for i in range(args.rounds)]
    print(f"{args.users} users, medians of {args.rounds} rounds (each a fresh server)")
    print(
        f"  training, request to ready:            {statistics.median(r['train_s'] for r in rounds):8.1f} s"
    )
    for key in sorted(k for k in rounds[0] if k.startswith("api_c")):
        rate = statistics.median(r[key] for r in rounds)
        print(f"  scoring through the API, {key[5:]:>3} in flight:   {rate:8,.0f} users/s")
    print(
        f"  ceiling, the model alone in memory:    {statistics.median(r['ceiling'] for r in rounds):8,.0f}"
        " users/s"
    )


if __name__ == "__main__":
    asyncio.run(main())
