"""SQLite's query-planner statistics for the audience tables, refreshed when a table has outgrown them.

Without `sqlite_stat1` SQLite picks indexes by rule of thumb, and for segment rules the
rule of thumb is costly: over a million users it walks half of them by last activity
(random pages, seconds) where the country index would read a quarter in order (a few
hundred milliseconds). PostgreSQL keeps its own statistics (autovacuum); SQLite needs
`ANALYZE`, which is worth re-running only when a table has grown or shrunk tenfold
since it last ran (SQLite's own `PRAGMA optimize` uses the same measure). Row counts
are estimated from the largest rowid, so checking costs a few index seeks.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# The tables segment rules read; small ones gain nothing from statistics.
AUDIENCE_TABLES = ("users", "devices", "user_interests", "user_engagement", "user_preferences")
MIN_ROWS = 1_000
GROWTH = 10


def stale_tables(conn: Connection) -> list[str]:
    """The audience tables whose statistics are missing or off by `GROWTH` times or more."""
    recorded: dict[str, int] = {}
    if conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        for table, stat in conn.execute(text("SELECT tbl, stat FROM sqlite_stat1")):
            recorded[table] = max(recorded.get(table, 0), int(str(stat).split()[0]))
    stale = []
    for table in AUDIENCE_TABLES:
        rows = int(conn.execute(text(f"SELECT coalesce(max(rowid), 0) FROM {table}")).scalar_one())  # noqa: S608
        known = recorded.get(table)
        if rows >= MIN_ROWS and (known is None or rows >= known * GROWTH or rows * GROWTH <= known):
            stale.append(table)
    return stale


def refresh(conn: Connection) -> list[str]:
    """`ANALYZE` the stale audience tables (inside the caller's write transaction); returns them."""
    stale = stale_tables(conn)
    for table in stale:
        conn.execute(text(f"ANALYZE {table}"))
    return stale
