"""The migrations build exactly the schema `store/schema.py` declares, on both engines.

Several people add tables and columns at once; a migration that forgets a column (or
a schema.py that forgets an index) would only show up as a failing query in production.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from pushwise.store import migrate
from pushwise.store.db import async_url
from pushwise.store.schema import metadata
from tests.integration.pg_databases import fresh_postgres


async def _differences(url: str) -> list[Any]:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(_compare)
    finally:
        await engine.dispose()
    return [difference for difference in found if not _is_alembic_own(difference)]


def _compare(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _is_alembic_own(difference: Any) -> bool:
    return (
        isinstance(difference, tuple)
        and difference[0] == "remove_table"
        and difference[1].name == "alembic_version"
    )


def test_sqlite_migrations_build_the_declared_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    migrate.upgrade(url)
    assert asyncio.run(_differences(url)) == []


@pytest.mark.integration
def test_postgres_migrations_build_the_declared_schema(postgres_server: str) -> None:
    async def check() -> list[Any]:
        async with fresh_postgres(postgres_server) as url:
            return await _differences(url)

    assert asyncio.run(check()) == []
