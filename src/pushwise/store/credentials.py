"""Provider credentials per (app, channel): public settings in clear, secrets sealed.

The delivery engine reads credentials through `get` and rebuilds a provider when
`updated_at` changes, so `put` makes `updated_at` strictly increase even when the
clock has not moved (a frozen test clock, two quick updates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, select

from pushwise.domain.clock import Clock
from pushwise.store.db import Database
from pushwise.store.schema import provider_credentials
from pushwise.store.sealing import Sealer
from pushwise.store.upsert import upsert_into

_TICK = 0.001


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    public: dict[str, Any]
    secret: dict[str, Any]
    updated_at: float


@dataclass(frozen=True, slots=True)
class CredentialSummary:
    """What may be shown: everything but the secret."""

    public: dict[str, Any]
    updated_at: float


def credential_context(app_id: str, channel: str) -> bytes:
    return f"provider-credentials:{app_id}:{channel}".encode()


class CredentialRepository:
    def __init__(self, db: Database, clock: Clock, sealer: Sealer) -> None:
        self._db = db
        self._clock = clock
        self._sealer = sealer

    async def put(
        self, app_id: str, channel: str, public: dict[str, Any], secret: dict[str, Any]
    ) -> CredentialSummary:
        sealed = self._sealer.seal(orjson.dumps(secret), credential_context(app_id, channel))
        table = provider_credentials
        async with self._db.writing() as connection:
            previous = await connection.scalar(
                select(table.c.updated_at).where(table.c.app_id == app_id, table.c.channel == channel)
            )
            updated_at = self._clock.now()
            if previous is not None and updated_at <= previous:
                updated_at = previous + _TICK
            values = {"public_config": public, "secret": sealed, "updated_at": updated_at}
            statement = upsert_into(self._db, table).values(app_id=app_id, channel=channel, **values)
            await connection.execute(
                statement.on_conflict_do_update(index_elements=["app_id", "channel"], set_=values)
            )
        return CredentialSummary(public, updated_at)

    async def get(self, app_id: str, channel: str) -> StoredCredentials | None:
        """With the secret opened; raises `SealError` if the secret key changed."""
        table = provider_credentials
        query = select(table.c.public_config, table.c.secret, table.c.updated_at).where(
            table.c.app_id == app_id, table.c.channel == channel
        )
        async with self._db.read.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        secret = orjson.loads(self._sealer.open(row.secret, credential_context(app_id, channel)))
        return StoredCredentials(row.public_config, secret, row.updated_at)

    async def describe(self, app_id: str, channel: str) -> CredentialSummary | None:
        table = provider_credentials
        query = select(table.c.public_config, table.c.updated_at).where(
            table.c.app_id == app_id, table.c.channel == channel
        )
        async with self._db.read.connect() as connection:
            row = (await connection.execute(query)).first()
        return CredentialSummary(row.public_config, row.updated_at) if row is not None else None

    async def delete(self, app_id: str, channel: str) -> CredentialSummary | None:
        table = provider_credentials
        where = (table.c.app_id == app_id, table.c.channel == channel)
        async with self._db.writing() as connection:
            row = (
                await connection.execute(select(table.c.public_config, table.c.updated_at).where(*where))
            ).first()
            if row is None:
                return None
            await connection.execute(delete(table).where(*where))
        return CredentialSummary(row.public_config, row.updated_at)
