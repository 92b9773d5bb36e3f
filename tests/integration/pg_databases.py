"""Throw-away PostgreSQL databases for tests: a unique name per use, dropped afterwards.

Tests of several helpers share one server, so every database gets a random suffix
and is dropped (its sessions terminated first) even when the test fails.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from pushwise.store import migrate


async def admin_execute(server_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(f"{server_url}/postgres", timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_postgres(server_url: str, prefix: str = "pw_test") -> AsyncIterator[str]:
    """A new, migrated database on `server_url`; yields its URL and drops it afterwards."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    await admin_execute(server_url, f'CREATE DATABASE "{name}"')
    url = f"{server_url}/{name}"
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
    finally:
        await admin_execute(
            server_url,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
            "AND pid <> pg_backend_pid()",
            f'DROP DATABASE IF EXISTS "{name}"',
        )


@asynccontextmanager
async def fresh_store(engine: str, server_url: str | None, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of either engine, for suites that run against both."""
    if engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
        return
    assert server_url is not None
    async with fresh_postgres(server_url) as url:
        yield url
