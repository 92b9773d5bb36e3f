"""The failure-notice sweep pages through permission-denied devices by index, not by scanning `devices`."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from pushwise.store import migrate
from pushwise.store.db import open_database
from pushwise.store.notices import NoticeRepository

pytestmark = pytest.mark.integration


async def test_the_permission_denial_sweep_seeks_its_partial_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    db = open_database(url)
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        statements.append((statement, params))

    event.listen(db.read.sync_engine, "before_cursor_execute", capture)
    try:
        await NoticeRepository(db).permission_denials(
            after=(50.0, "dev_x"), until=100.0, period=10.0, limit=50
        )
    finally:
        await db.dispose()
    [(sweep, params)] = [(s, p) for s, p in statements if "deactivated_at" in s]
    with sqlite3.connect(tmp_path / "sweep.db") as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sweep}", params)]
    # A range seek between the cursor and `until`: not a scan of every device, nor of every pruned one.
    assert (
        "SEARCH devices USING INDEX ix_devices_permission_denied (deactivated_at>? AND deactivated_at<?)"
        in plan
    )
