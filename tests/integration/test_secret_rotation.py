"""`pushwise secrets rotate`: both key sources, both engines, and a rotation killed half-way.

Secrets are stored through the repositories the server uses, sealed under the old key; after a
rotation they must open under the new key alone and no longer under the old one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pushwise.domain.clock import ManualClock
from pushwise.secret_rotation import RotationDone, RotationRefused, rotate_secrets
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import CredentialRepository, credential_context
from pushwise.store.db import open_database
from pushwise.store.receipts import ReceiptEndpoints
from pushwise.store.resealing import SEALED_COLUMNS
from pushwise.store.schema import apps, provider_credentials
from pushwise.store.sealing import Sealer, SealError
from tests.integration.pg_databases import fresh_store

OLD = b"old-secret-key-0123456789abcdefghij"
NEW = b"new-secret-key-0123456789abcdefghij"
APNS = {"private_key": "-----BEGIN PRIVATE KEY-----\nMIGT...\n-----END PRIVATE KEY-----"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        yield url


async def store_secrets(url: str, key: bytes, apps_count: int = 2) -> list[str]:
    db, clock = open_database(url), ManualClock()
    try:
        ids = []
        for n in range(apps_count):
            app_id = (await AppRepository(db, clock).create_with_keys(f"shop{n}")).app.id
            await CredentialRepository(db, clock, Sealer(key)).put(app_id, "apns", {"topic": "t"}, APNS)
            secret = f"receipt-secret-{n}-0123456789"
            await ReceiptEndpoints(db, clock, Sealer(key)).put_endpoint(
                app_id, "https://r.example", secret, []
            )
            ids.append(app_id)
        return ids
    finally:
        await db.dispose()


async def opened_by(url: str, key: bytes, app_ids: list[str]) -> int:
    """How many of the apps' secrets (credentials and receipt secrets) `key` alone opens."""
    db, clock = open_database(url), ManualClock()
    opened = 0
    try:
        for app_id in app_ids:
            for read in (
                CredentialRepository(db, clock, Sealer(key)).get(app_id, "apns"),
                ReceiptEndpoints(db, clock, Sealer(key)).endpoint(app_id),
            ):
                try:
                    found = await read
                except SealError:
                    continue
                assert found is not None
                opened += 1
        return opened
    finally:
        await db.dispose()


async def rotate(
    url: str, key_file: Path, env_key: bytes | None = None, new_key_file: Path | None = None
) -> RotationDone:
    return await asyncio.to_thread(
        rotate_secrets,
        url,
        env_key=env_key.decode() if env_key else None,
        key_file=str(key_file),
        new_key_file=str(new_key_file) if new_key_file else None,
    )


async def test_a_key_file_install_rotates_to_a_new_random_key_written_into_its_key_file(
    store_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "pushwise.key"
    key_file.write_bytes(OLD)
    app_ids = await store_secrets(store_url, OLD)
    done = await rotate(store_url, key_file)
    new = key_file.read_bytes()
    assert new != OLD
    assert (done.resealed, done.key_file) == (4, str(key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (tmp_path / "pushwise.key.next").exists()
    assert await opened_by(store_url, new, app_ids) == 4
    assert await opened_by(store_url, OLD, app_ids) == 0


async def test_a_key_from_the_environment_needs_the_new_key_file_and_leaves_files_alone(
    store_url: str, tmp_path: Path
) -> None:
    app_ids = await store_secrets(store_url, OLD)
    key_file, new_key = tmp_path / "pushwise.key", tmp_path / "new.key"
    with pytest.raises(RotationRefused, match="--new-key-file"):
        await asyncio.to_thread(
            rotate_secrets, store_url, env_key=OLD.decode(), key_file=str(key_file), new_key_file=None
        )
    assert await opened_by(store_url, OLD, app_ids) == 4  # refused before touching anything
    new_key.write_bytes(NEW + b"\n")
    done = await rotate(store_url, key_file, env_key=OLD, new_key_file=new_key)
    assert (done.resealed, done.key_file) == (4, None)
    assert not key_file.exists()
    assert await opened_by(store_url, NEW, app_ids) == 4
    assert await opened_by(store_url, OLD, app_ids) == 0


async def test_a_secret_no_key_opens_stops_the_rotation_before_the_key_file_changes(tmp_path: Path) -> None:
    async with fresh_store("sqlite", None, tmp_path) as url:
        key_file = tmp_path / "pushwise.key"
        key_file.write_bytes(OLD)
        await store_secrets(url, OLD)
        await store_secrets(url, b"some-other-key-0123456789abcdef", apps_count=1)
        with pytest.raises(RotationRefused, match="provider_credentials"):
            await asyncio.to_thread(
                rotate_secrets, url, env_key=None, key_file=str(key_file), new_key_file=None
            )
        assert key_file.read_bytes() == OLD


def seed_many(path: Path, count: int) -> list[str]:
    """`count` apps with sealed credentials, written straight into SQLite (fast)."""
    sealer = Sealer(OLD)
    app_ids = [f"app_bulk{n:05d}" for n in range(count)]
    with sqlite3.connect(path) as connection:
        connection.executemany(
            f"INSERT INTO {apps.name} (id, name, created_at) VALUES (?, ?, 0)", [(i, i) for i in app_ids]
        )
        connection.executemany(
            f"INSERT INTO {provider_credentials.name} (app_id, channel, public_config, secret, updated_at) "
            "VALUES (?, 'apns', '{}', ?, 0)",
            [(i, sealer.seal(b'{"private_key": "k"}', credential_context(i, "apns"))) for i in app_ids],
        )
    return app_ids


def kill_rotation_once_it_reseals(url: str, database: Path, key_file: Path) -> int:
    """Run `pushwise secrets rotate` and SIGKILL it as soon as its first batch is re-sealed."""
    env = {**os.environ, "PUSHWISE_DATABASE_URL": url, "PUSHWISE_SECRET_KEY_FILE": str(key_file)}
    env.pop("PUSHWISE_SECRET_KEY", None)
    rotation = subprocess.Popen(
        [sys.executable, "-m", "pushwise", "secrets", "rotate"], env=env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while dual_sealed(database) == 0 and rotation.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(rotation.pid, signal.SIGKILL)
    return rotation.wait()


def dual_sealed(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        blobs = connection.execute(f"SELECT secret FROM {provider_credentials.name}").fetchall()
    return sum(1 for (blob,) in blobs if blob[1] == 2)


async def test_a_rotation_killed_half_way_leaves_every_secret_open_and_completes_when_run_again(
    tmp_path: Path,
) -> None:
    async with fresh_store("sqlite", None, tmp_path) as url:
        database, key_file = tmp_path / "store.db", tmp_path / "pushwise.key"
        key_file.write_bytes(OLD)
        app_ids = await asyncio.to_thread(seed_many, database, 4000)
        returncode = await asyncio.to_thread(kill_rotation_once_it_reseals, url, database, key_file)
        assert returncode == -signal.SIGKILL, "the rotation ended before it could be killed"
        pending = tmp_path / "pushwise.key.next"
        assert pending.exists()
        assert key_file.read_bytes() == OLD
        new = pending.read_bytes()
        sample = app_ids[:: len(app_ids) // 40]
        assert await opened_by_credentials(url, OLD, sample) == len(sample)  # old servers still work

        done = await asyncio.to_thread(
            rotate_secrets, url, env_key=None, key_file=str(key_file), new_key_file=None
        )
        assert key_file.read_bytes() == new  # finished with the key it had started with
        assert done.unchanged == len(app_ids)
        assert await opened_by_credentials(url, new, app_ids) == len(app_ids)
        assert await opened_by_credentials(url, OLD, sample) == 0


async def opened_by_credentials(url: str, key: bytes, app_ids: list[str]) -> int:
    db, clock, opened = open_database(url), ManualClock(), 0
    try:
        for app_id in app_ids:
            try:
                opened += await CredentialRepository(db, clock, Sealer(key)).get(app_id, "apns") is not None
            except SealError:
                continue
        return opened
    finally:
        await db.dispose()


def test_every_column_named_like_a_secret_is_resealed() -> None:
    from pushwise.store.schema import metadata

    registered = {(column.table.name, column.column) for column in SEALED_COLUMNS}
    secret_like = {
        (table.name, column.name)
        for table in metadata.tables.values()
        for column in table.columns
        if any(word in column.name for word in ("secret", "sealed", "password", "private"))
    }
    assert secret_like <= registered, (
        f"sealed columns missing from pushwise.store.resealing.SEALED_COLUMNS: {secret_like - registered}"
    )
