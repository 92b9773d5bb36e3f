"""Apps (tenants) and their creation together with a first server and client key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import RowMapping

from pushwise.domain.clock import Clock
from pushwise.store.db import Database
from pushwise.store.ids import new_id
from pushwise.store.keys import IssuedKey, new_key
from pushwise.store.schema import api_keys, apps


@dataclass(frozen=True, slots=True)
class App:
    id: str
    name: str
    created_at: float


@dataclass(frozen=True, slots=True)
class ProvisionedApp:
    app: App
    server_key: IssuedKey
    client_key: IssuedKey


def _app(row: RowMapping) -> App:
    return App(row["id"], row["name"], row["created_at"])


class AppRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def create_with_keys(self, name: str) -> ProvisionedApp:
        """One transaction: an app never exists without keys to manage it."""
        now = self._clock.now()
        app = App(new_id("app"), name, now)
        server, server_row = new_key("server", app.id, now)
        client, client_row = new_key("client", app.id, now)
        async with self._db.writing() as connection:
            await connection.execute(apps.insert().values(id=app.id, name=name, created_at=now))
            await connection.execute(api_keys.insert(), [server_row, client_row])
        return ProvisionedApp(app, server, client)

    async def get(self, app_id: str) -> App | None:
        async with self._db.read.connect() as connection:
            row = (await connection.execute(select(apps).where(apps.c.id == app_id))).mappings().first()
        return _app(row) if row is not None else None

    async def list_all(self) -> list[App]:
        async with self._db.read.connect() as connection:
            rows = (
                (await connection.execute(select(apps).order_by(apps.c.created_at, apps.c.id)))
                .mappings()
                .all()
            )
        return [_app(row) for row in rows]
