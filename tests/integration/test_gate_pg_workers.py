"""Three `pushwise worker` processes on PostgreSQL race over the same users' notifications:
no user ever gets more than the cap allows, and what did not fit waits, deferred."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from pushwise.api.schemas.policy import PolicyIn
from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from tests.integration.apns_app import app_sending_to
from tests.integration.pg_databases import fresh_postgres
from tests.integration.pg_workers import SECRET, eventually, start_worker, states, stop_workers

pytestmark = pytest.mark.integration

USERS = 40
NOTIFICATIONS = 12
CAP = 3


@pytest.fixture
async def pg_url(postgres_server: str) -> AsyncIterator[str]:
    async with fresh_postgres(postgres_server, "pw_gate") as url:
        yield url


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(tls=True, seed=11, workdir=str(tmp_path / "sim"), engine="granian") as sim:
        yield sim


async def test_three_worker_processes_never_exceed_a_users_cap(
    pg_url: str, simulator: ApnsSimulatorHandle, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=pg_url, secret_key=SECRET, secret_key_file=str(tmp_path / "key"), db_pool_size=2
    )
    services = build_services(settings, rng=random.Random(3))
    names = [f"user{n:03d}" for n in range(USERS)]
    try:
        app_id = await app_sending_to(services, simulator, "capped")
        await services.engine.policies.put(
            app_id, PolicyIn(caps=[{"window_seconds": 86_400, "max": CAP}]).document()
        )
        # Two iPhones each: a notification reaches both, and still counts once.
        await DeviceRepository(services.db, services.clock).register_many(
            app_id,
            [
                DeviceRegistration("ios", f"{n:032x}{phone:032x}", user_external_id=name)
                for n, name in enumerate(names)
                for phone in (1, 2)
            ],
        )
        workers = [start_worker(pg_url, batch_size=16, poll_seconds=0.05) for _ in range(3)]
        try:
            for number in range(NOTIFICATIONS):
                spec = NotificationSpec(Content(title=f"Deal {number}", body="today only"))
                await services.engine.accept(app_id, AcceptRequest(spec, Target(user_ids=tuple(names))))

            async def settled() -> bool:
                found = await states(pg_url)
                return (
                    set(found) <= {"delivered", "deferred"}
                    and sum(found.values()) == USERS * NOTIFICATIONS * 2
                )

            await eventually(settled, 120, "every delivery sent or deferred")
        finally:
            stop_workers(workers)
    finally:
        await services.close()
    connection = await asyncpg.connect(pg_url, timeout=10)
    try:
        per_user = await connection.fetch(
            "SELECT user_id, count(DISTINCT notification_id) AS n FROM deliveries "
            "WHERE state = 'delivered' GROUP BY user_id"
        )
        reasons = await connection.fetch(
            "SELECT DISTINCT last_reason FROM deliveries WHERE state = 'deferred'"
        )
    finally:
        await connection.close()
    assert len(per_user) == USERS
    assert {row["n"] for row in per_user} == {CAP}  # exactly the cap: never more, and no slot wasted
    assert [row["last_reason"] for row in reasons] == ["cap:86400"]
    received = simulator.token_counts()
    assert sum(counts.get("received", 0) for counts in received.values()) == USERS * CAP * 2
