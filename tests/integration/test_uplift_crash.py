"""A `pushwise worker` process killed (SIGKILL) while it trains an uplift model: the model stays
`training`, and once the dead process's lease runs out another process trains it to `ready`."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from pushwise.settings import Settings
from tests.integration.conftest import SECRET_KEY
from tests.integration.uplift_population import DAY, GOAL, load, population

pytestmark = pytest.mark.integration

LEASE = 600


def start_worker(db_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUSHWISE_DATABASE_URL": db_url,
        "PUSHWISE_SECRET_KEY": SECRET_KEY,
        "PUSHWISE_UPLIFT_POLL_SECONDS": "0.05",
        "PUSHWISE_UPLIFT_LEASE_SECONDS": str(LEASE),
        "PUSHWISE_MONITORING": "0",
        "PUSHWISE_LOG_LEVEL": "warning",
    }
    return subprocess.Popen([sys.executable, "-m", "pushwise", "worker"], env=env)


def job(db_path: str, model_id: str) -> tuple[str, int, str | None]:
    with sqlite3.connect(db_path) as db:
        status, attempts, owner = db.execute(
            "SELECT status, attempts, lease_owner FROM uplift_models WHERE id = ?", (model_id,)
        ).fetchone()
    return status, attempts, owner


async def test_a_worker_killed_mid_training_leaves_the_model_to_another(
    client, make_app, services, clock, settings: Settings
) -> None:
    clock.set(time.time())  # the worker process keeps real time
    shop = await make_app()
    users = population(4000, ("promo", "control"), lambda a: {"control": 0.1, "promo": 0.2}, seed=31)
    experiment = await load(
        client, shop.server_headers, users, ("promo", "control"), "control", clock.now() - 3 * DAY
    )
    body = {
        "name": "crash",
        "learn_from": {"experiments": [experiment]},
        "goal": {"event": GOAL, "measure": "any"},
        "window_hours": 48,
    }
    model_id = (await client.post("/v1/uplift-models", json=body, headers=shop.server_headers)).json()["id"]
    db_path = settings.database_url.removeprefix("sqlite:///")

    worker = start_worker(settings.database_url)
    try:
        deadline = time.monotonic() + 60
        while job(db_path, model_id)[2] is None:
            assert time.monotonic() < deadline, "the worker never claimed the training"
            assert worker.poll() is None, "the worker exited"
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    status, attempts, owner = job(db_path, model_id)
    assert (status, attempts) == ("training", 1), "the kill came too late to test anything"
    assert owner is not None

    assert await services.uplift_trainer.run_once() is None  # the dead process's lease still holds
    clock.set(time.time() + LEASE + 1)  # past the lease the dead process took (on real time)
    assert await services.uplift_trainer.run_once() == model_id
    model = (await client.get(f"/v1/uplift-models/{model_id}", headers=shop.server_headers)).json()
    assert model["status"] == "ready", model["error"]
    assert job(db_path, model_id) == ("ready", 2, None)
