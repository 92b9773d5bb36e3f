"""Operating pushwise on PostgreSQL: schema upgrades, moving from SQLite, readiness.

The server refuses an outdated shared schema and `pushwise db upgrade` fixes it;
`pushwise db migrate-from sqlite:///...` copies an embedded install with its ids;
`/readyz` fails while the database is unreachable and recovers on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.states import DeliveryState
from pushwise.serving import OutdatedSchema, prepare_database
from pushwise.settings import Settings
from pushwise.store import migrate
from pushwise.store.apps import AppRepository
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from pushwise.store.queue import DeliveryUpdate
from pushwise.store.schema import deliveries, metadata
from tests.integration.conftest import serve_app
from tests.integration.pg_databases import admin_execute, fresh_postgres

pytestmark = pytest.mark.integration

SECRET = "pg-operations-secret-0123456789abcdef"


def pushwise_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PUSHWISE_DATABASE_URL": database_url, "PUSHWISE_SECRET_KEY": SECRET}
    return subprocess.run(
        [sys.executable, "-m", "pushwise", *args], env=env, capture_output=True, text=True, timeout=120
    )


@contextlib.asynccontextmanager
async def empty_postgres(server_url: str) -> AsyncIterator[str]:
    """A database with no schema at all (fresh_postgres migrates; this one must not be)."""
    name = f"pw_empty_{random.Random().getrandbits(40):010x}"
    await admin_execute(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url}/{name}"
    finally:
        await admin_execute(
            server_url,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            f'DROP DATABASE IF EXISTS "{name}"',
        )


async def test_server_refuses_an_outdated_schema_until_db_upgrade(
    postgres_server: str, tmp_path: Path
) -> None:
    async with empty_postgres(postgres_server) as url:
        settings = Settings(database_url=url, secret_key=SECRET, secret_key_file=str(tmp_path / "key"))
        with pytest.raises(OutdatedSchema, match="pushwise db upgrade"):
            await asyncio.to_thread(prepare_database, settings)
        upgraded = await asyncio.to_thread(pushwise_cli, "db", "upgrade", database_url=url)
        assert upgraded.returncode == 0, upgraded.stderr
        await asyncio.to_thread(prepare_database, settings)  # no longer raises


async def test_migrate_from_copies_an_embedded_install_with_its_ids(
    postgres_server: str, tmp_path: Path
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'embedded.db'}"
    await asyncio.to_thread(migrate.upgrade, sqlite_url)
    settings = Settings(database_url=sqlite_url, secret_key=SECRET, secret_key_file=str(tmp_path / "key"))
    services = build_services(settings)
    try:
        app_id = (await AppRepository(services.db, services.clock).create_with_keys("shop")).app.id
        await DeviceRepository(services.db, services.clock).register_many(
            app_id, [DeviceRegistration("ios", f"{n:064x}", user_external_id=f"u{n % 7}") for n in range(120)]
        )
        spec = NotificationSpec(Content(title="hello"))
        await services.engine.accept(app_id, AcceptRequest(spec, Target(everyone=True)))
        claimed = await services.engine.queue.claim("w", limit=30, now=services.clock.now(), lease_seconds=60)
        updates = [
            DeliveryUpdate(
                item.id, DeliveryState.DELIVERED, 1, None, None, 200, sent=True, attempt_outcome="delivered"
            )
            for item in claimed
        ]
        await services.engine.queue.record("w", updates, services.clock.now())
        source_counts = await _counts(services.db.read)
    finally:
        await services.close()

    async with empty_postgres(postgres_server) as pg_url:
        copied = await asyncio.to_thread(
            pushwise_cli, "db", "migrate-from", sqlite_url, "--batch-size", "50", database_url=pg_url
        )
        assert copied.returncode == 0, copied.stderr
        assert "deliveries: 120 rows" in copied.stdout
        target = build_services(
            Settings(database_url=pg_url, secret_key=SECRET, secret_key_file=str(tmp_path / "key"))
        )
        try:
            assert await _counts(target.db.read) == source_counts
            assert (source_counts["deliveries"], source_counts["attempts"]) == (120, 30)
            accepted = await target.engine.accept(app_id, AcceptRequest(spec, Target(everyone=True)))
            assert accepted.recipients == 120  # the copied devices, found by the copied app id
            async with target.db.read.connect() as conn:
                ids = sorted((await conn.execute(select(deliveries.c.id))).scalars())
            assert ids == list(range(1, 241))  # new ids follow the copied ones: the sequence moved on
        finally:
            await target.close()
        again = await asyncio.to_thread(pushwise_cli, "db", "migrate-from", sqlite_url, database_url=pg_url)
        assert again.returncode == 1
        assert "already has rows" in again.stderr


async def _counts(engine: object) -> dict[str, int]:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return {
            table.name: int((await conn.execute(select(func.count()).select_from(table))).scalar() or 0)
            for table in metadata.sorted_tables
        }


class CuttableProxy:
    """A TCP forwarder to PostgreSQL that the test can cut and restore: an outage of the
    database as this process sees it, without stopping the shared server."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._pipe_client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _pipe_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self._writers.discard(writer)


async def test_readyz_fails_while_the_database_is_away_and_recovers(
    postgres_server: str, tmp_path: Path
) -> None:
    async with fresh_postgres(postgres_server, "pw_ready") as url:
        proxy = CuttableProxy(int(url.rsplit(":", 1)[1].split("/")[0]))
        await proxy.start()
        proxied = url.replace(url.rsplit("@", 1)[1].split("/")[0], f"127.0.0.1:{proxy.port}")
        services = build_services(
            Settings(
                database_url=proxied, secret_key=SECRET, secret_key_file=str(tmp_path / "key"), db_pool_size=2
            )
        )
        try:
            async with (
                serve_app(create_app(services)) as base,
                httpx.AsyncClient(base_url=base, timeout=15) as http,
            ):
                assert (await http.get("/readyz")).status_code == 200
                await proxy.cut()
                away = await http.get("/readyz")
                assert away.status_code == 503
                assert away.json()["error"]["code"] == "database_unreachable"
                await proxy.start()  # the database is back, on the same address
                for _ in range(100):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                    await asyncio.sleep(0.1)
                assert (await http.get("/readyz")).status_code == 200
        finally:
            await proxy.cut()
            await services.close()
