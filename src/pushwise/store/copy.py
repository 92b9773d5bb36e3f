"""Copy an embedded (SQLite) install into PostgreSQL: `pushwise db migrate-from`.

Every table is copied in foreign-key order, in batches streamed from the source,
keeping ids, so API keys, device ids and notification ids stay valid. PostgreSQL
identity sequences are then moved past the copied ids. The target must be at the
current schema and empty; the source must be at the same schema, so no column is
silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.store import migrate
from pushwise.store.db import Database, open_database
from pushwise.store.schema import metadata


class CopyRefused(Exception):
    """The copy would lose or mix data; the message says what to do."""


@dataclass(frozen=True, slots=True)
class CopiedTable:
    name: str
    rows: int


async def copy_database(
    source_url: str,
    target: Database,
    *,
    batch_size: int = 5000,
    progress: Callable[[str, int], None] = lambda _table, _rows: None,
) -> list[CopiedTable]:
    """Copy all rows of `source_url` into `target`; returns the row count per table."""
    source = open_database(source_url, pool_size=1)
    try:
        await _check_schemas(source, target)
        copied = []
        async with source.read.connect() as reader, target.write.begin() as writer:
            for table in metadata.sorted_tables:
                await _refuse_if_filled(writer, table.name)
                rows = 0
                stream = await reader.stream(select(table).execution_options(yield_per=batch_size))
                async for batch in stream.partitions(batch_size):
                    await writer.execute(insert(table), [dict(row._mapping) for row in batch])
                    rows += len(batch)
                    progress(table.name, rows)
                copied.append(CopiedTable(table.name, rows))
            if not target.is_sqlite:
                await _advance_sequences(writer)
        return copied
    finally:
        await source.dispose()


async def _check_schemas(source: Database, target: Database) -> None:
    needed = migrate.head_revisions()
    if await migrate.current_revisions(source.read) != needed:
        raise CopyRefused(
            "the source database is not at the current schema: run `pushwise db upgrade` "
            "with PUSHWISE_DATABASE_URL set to the source first"
        )
    if await migrate.current_revisions(target.read) != needed:
        raise CopyRefused("the target database is not at the current schema: run `pushwise db upgrade` first")


async def _refuse_if_filled(writer: AsyncConnection, table_name: str) -> None:
    table = metadata.tables[table_name]
    if (await writer.execute(select(func.count()).select_from(table))).scalar():
        raise CopyRefused(f"the target table {table_name} already has rows: copy into an empty database")


async def _advance_sequences(writer: AsyncConnection) -> None:
    """Make the next generated id follow the copied ones (ids were inserted explicitly)."""
    for table in metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        next_id = func.coalesce(select(func.max(column)).scalar_subquery(), 0) + 1
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        await writer.execute(select(func.setval(sequence, next_id, False)))
