"""SQLite's planner statistics are gathered once the audience tables outgrow them, and the read
connections plan with them afterwards (they read statistics only when they open)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, insert, text

from pushwise.store import migrate
from pushwise.store.checkpoints import WalCheckpoints
from pushwise.store.db import open_database
from pushwise.store.schema import apps, users

NOW = 1_800_000_000.0
QUERY = (
    "EXPLAIN QUERY PLAN SELECT count(*) FROM users "
    "WHERE app_id = 'app_1' AND country = 'DE' AND last_active_at > 1700000000"
)


def _fill(conn: Connection) -> None:
    conn.execute(insert(apps).values(id="app_1", name="shop", created_at=NOW))
    conn.execute(
        insert(users),
        [
            {
                "id": f"usr_{n}",
                "app_id": "app_1",
                "external_id": f"u{n}",
                "attributes": {},
                "tags": [],
                "created_at": NOW,
                "updated_at": NOW,
                # A hundred countries: the country, not the activity, is the selective clause.
                "country": chr(65 + n % 25) + chr(65 + n // 25 % 4),
                "last_active_at": NOW - n,
            }
            for n in range(5000)
        ],
    )


def _plan(conn: Connection) -> str:
    return " ".join(str(row[-1]) for row in conn.execute(text(QUERY)))


async def test_outgrown_tables_are_analyzed_and_read_connections_use_the_statistics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    db = open_database(url)
    upkeep = WalCheckpoints(db)
    try:
        assert await upkeep.refresh_statistics() == []  # nothing worth analyzing yet
        await db.transact(_fill)
        assert "last_active_at" in await db.query(_plan)  # the rule of thumb
        assert await upkeep.refresh_statistics() == ["users"]
        assert "ix_users_app_id_country" in await db.query(_plan)
        assert await upkeep.refresh_statistics() == []  # current until the table grows tenfold
    finally:
        await db.dispose()
