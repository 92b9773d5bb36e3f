"""Routing per installation with three `pushwise worker` processes on PostgreSQL: each
installation gets one delivery per notification, and one push in all, even when half
the Huawei tokens are dead and their deliveries move on to OPPO (two vendor routes of
one installation rank alike: they are tried in device-id order)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.china.harness import VendorSimulatorHandle, start_vendor_simulator
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from pushwise.store.sealing import Sealer
from tests.integration.pg_databases import fresh_postgres
from tests.integration.pg_workers import SECRET, eventually, start_worker, states, stop_workers

pytestmark = pytest.mark.integration

INSTALLATIONS = 300
NOTIFICATIONS = 3
SECRETS = ("client_secret", "app_secret", "master_secret")


@pytest.fixture
async def pg_url(postgres_server: str) -> AsyncIterator[str]:
    async with fresh_postgres(postgres_server, "pw_china") as url:
        yield url


@pytest.fixture
def sims() -> Iterator[dict[str, VendorSimulatorHandle]]:
    huawei = start_vendor_simulator("huawei", faults={"dead_token_prefix": "hw-dead"})
    try:
        with start_vendor_simulator("oppo") as oppo:
            yield {"huawei": huawei, "oppo": oppo}
    finally:
        huawei.stop()


async def _prepare(pg_url: str, sims: dict[str, VendorSimulatorHandle], tmp_path: Path) -> list[str]:
    services = build_services(
        Settings(
            database_url=pg_url, secret_key=SECRET, secret_key_file=str(tmp_path / "key"), db_pool_size=4
        ),
        rng=random.Random(7),
    )
    try:
        app_id = (await AppRepository(services.db, services.clock).create_with_keys("shop")).app.id
        credentials = CredentialRepository(services.db, services.clock, Sealer(services.secret_key))
        for vendor, sim in sims.items():
            config = sim.provider_config()
            public = {k: v for k, v in config.items() if k not in SECRETS}
            await credentials.put(app_id, vendor, public, {k: v for k, v in config.items() if k in SECRETS})
        registrations = []
        for n in range(INSTALLATIONS):
            first = f"hw-dead-{n}" if n % 2 else f"hw-live-{n}"
            user, installation = f"u{n}", f"phone-{n}"
            registrations += [
                DeviceRegistration(
                    "android", first, user_external_id=user, vendor="huawei", installation_id=installation
                ),
                DeviceRegistration(
                    "android", f"op-{n}", user_external_id=user, vendor="oppo", installation_id=installation
                ),
            ]
        await DeviceRepository(services.db, services.clock).register_many(app_id, registrations)
        # The gate holds the vendors' daily marketing quotas (2 a day by default): this test is
        # about routes, so its quotas leave room for every notification.
        roomy = {"marketing_per_device_day": 2 * NOTIFICATIONS}
        await services.engine.policies.put(app_id, {"vendor_quotas": {"huawei": roomy, "oppo": roomy}})
        spec = NotificationSpec(Content(title="上新", body="今日特惠"))
        # Accepted concurrently: each accept plans one delivery per installation in its own snapshot.
        accepted = await asyncio.gather(
            *(
                services.engine.accept(app_id, AcceptRequest(spec, Target(everyone=True)))
                for _ in range(NOTIFICATIONS)
            )
        )
        assert [a.recipients for a in accepted] == [INSTALLATIONS] * NOTIFICATIONS
        return [a.id for a in accepted]
    finally:
        await services.close()


async def test_three_workers_deliver_each_installation_once_per_notification(
    pg_url: str, sims: dict[str, VendorSimulatorHandle], tmp_path: Path
) -> None:
    # Leases long enough that none lapses on a loaded machine: a lapsed lease is the one
    # documented source of a repeated push (at-least-once), which this test is not about.
    workers = [start_worker(pg_url, batch_size=50, lease_seconds=30.0) for _ in range(3)]
    try:
        await _prepare(pg_url, sims, tmp_path)
        total = INSTALLATIONS * NOTIFICATIONS

        async def all_delivered() -> bool:
            return (await states(pg_url)).get("delivered", 0) == total

        await eventually(all_delivered, 120, "every installation's delivery recorded")
    finally:
        stop_workers(workers)
    assert await states(pg_url) == {"delivered": INSTALLATIONS * NOTIFICATIONS}
    connection = await asyncpg.connect(pg_url, timeout=10)
    try:
        per_installation = await connection.fetch(
            "SELECT dv.installation_id, d.notification_id, count(*) AS n, min(d.channel) AS channel"
            " FROM deliveries d JOIN devices dv ON dv.id = d.device_id"
            " GROUP BY dv.installation_id, d.notification_id"
        )
    finally:
        await connection.close()
    assert len(per_installation) == INSTALLATIONS * NOTIFICATIONS
    assert all(row["n"] == 1 for row in per_installation)
    huawei, oppo = sims["huawei"].token_counts(), sims["oppo"].token_counts()
    for n in range(INSTALLATIONS):
        first = f"hw-dead-{n}" if n % 2 else f"hw-live-{n}"
        pushes = huawei.get(first, {}).get("delivered", 0) + oppo.get(f"op-{n}", {}).get("delivered", 0)
        assert pushes == NOTIFICATIONS, n  # one push per notification, on exactly one route
        if n % 2:  # a dead token is pruned once it answers so: never tried more often than sent to
            assert huawei.get(first, {}).get("received", 0) <= NOTIFICATIONS
