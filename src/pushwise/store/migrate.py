"""Apply and check schema migrations (Alembic), programmatically.

The server refuses to start on an outdated schema rather than fail later in a
query; `pushwise db upgrade` (or the embedded default's auto-upgrade) fixes it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

_MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def head_revisions() -> frozenset[str]:
    """Every head: features may add independent migration branches until a merge joins them."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def upgrade(url: str) -> None:
    """Run in a thread or before the event loop starts: env.py runs its own loop."""
    command.upgrade(alembic_config(url), "heads")


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    async with engine.connect() as connection:
        heads = await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
    return frozenset(heads)


async def is_current(engine: AsyncEngine) -> bool:
    return await current_revisions(engine) == head_revisions()
