"""`INSERT ... ON CONFLICT` in the dialect of the open database.

Both SQLite and PostgreSQL support it with the same shape; SQLAlchemy spells it
per dialect, so repositories ask here for the right `insert`.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from pushwise.store.db import Database


def upsert_into(db: Database, table: Table) -> sqlite.Insert | postgresql.Insert:
    return sqlite.insert(table) if db.is_sqlite else postgresql.insert(table)


def dialect_insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The same, from a connection (inside `Database.transact`)."""
    return insert_for(conn.dialect.name, table)


def insert_for(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The same, by dialect name: for statements built once per dialect and cached."""
    return sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)
