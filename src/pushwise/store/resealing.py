"""Re-seal every sealed column of the schema: the database half of `pushwise secrets rotate`.

`SEALED_COLUMNS` names each column that holds a sealed blob and how its context is built from
the row (a test fails for a column named like a secret that is missing here). `reseal` walks them
in primary-key order, a batch per transaction: a value already sealed for exactly the sealer's
keys is left alone, any other is opened and sealed again. Each write is a compare-and-set on the
old blob, so a value changed meanwhile (an app updating its provider settings) is not
overwritten; the next pass picks it up. Nothing here remembers progress: a pass started again
after a crash skips what is already done by looking at it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, Table, select, tuple_, update
from sqlalchemy.engine import RowMapping

from pushwise.store.credentials import credential_context
from pushwise.store.db import Database
from pushwise.store.receipts import receipt_secret_context
from pushwise.store.schema import provider_credentials, receipt_endpoints
from pushwise.store.sealing import Sealer, SealError, sealed_for

BATCH = 200


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    keys: tuple[str, ...]  # the primary key
    column: str
    context: Callable[[RowMapping], bytes]

    def name_of(self, row: RowMapping) -> str:
        return f"{self.table.name}({', '.join(str(row[key]) for key in self.keys)})"


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(
        provider_credentials,
        ("app_id", "channel"),
        "secret",
        lambda row: credential_context(row["app_id"], row["channel"]),
    ),
    SealedColumn(receipt_endpoints, ("app_id",), "secret", lambda row: receipt_secret_context(row["app_id"])),
)


@dataclass
class Resealed:
    resealed: int = 0
    unchanged: int = 0
    unreadable: list[str] = field(default_factory=list)  # values no known key opens


async def reseal(db: Database, sealer: Sealer, *, batch: int = BATCH) -> Resealed:
    """Seal every stored secret for exactly `sealer.sealing_ids`, opening it with any key it knows."""
    tally = Resealed()
    for sealed in SEALED_COLUMNS:
        after: tuple[Any, ...] | None = None
        while True:
            rows = await _page(db, sealed, after, batch)
            if not rows:
                break
            after = tuple(rows[-1][key] for key in sealed.keys)
            changes = []
            for row in rows:
                blob = row[sealed.column]
                if sealed_for(blob) == sealer.sealing_ids:
                    tally.unchanged += 1
                    continue
                try:
                    plaintext = sealer.open(blob, sealed.context(row))
                except SealError:
                    tally.unreadable.append(sealed.name_of(row))
                    continue
                changes.append((row, blob, sealer.seal(plaintext, sealed.context(row))))
            tally.resealed += await db.transact(partial(_write, sealed=sealed, changes=changes))
    return tally


async def _page(
    db: Database, sealed: SealedColumn, after: tuple[Any, ...] | None, limit: int
) -> list[RowMapping]:
    keys = [sealed.table.c[key] for key in sealed.keys]
    query = select(*keys, sealed.table.c[sealed.column]).order_by(*keys).limit(limit)
    if after is not None:
        query = query.where(tuple_(*keys) > tuple_(*after))
    async with db.read.connect() as connection:
        return list((await connection.execute(query)).mappings().all())


def _write(
    connection: Connection, sealed: SealedColumn, changes: Sequence[tuple[RowMapping, bytes, bytes]]
) -> int:
    written = 0
    table = sealed.table
    for row, old, new in changes:
        where = [table.c[key] == row[key] for key in sealed.keys] + [table.c[sealed.column] == old]
        written += connection.execute(update(table).where(*where).values({sealed.column: new})).rowcount
    return written
