"""Who a user-addressed delivery (e-mail, webhook) goes to, and who opted out of e-mail."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select

from pushwise.domain.clock import Clock
from pushwise.store.campaigns import exit_on
from pushwise.store.db import Database
from pushwise.store.schema import channel_unsubscribes, users
from pushwise.store.upsert import upsert_into


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: str
    external_id: str
    email: str | None
    email_unsubscribed: bool


class RecipientRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def find(self, app_id: str, user_id: str) -> Recipient | None:
        query = (
            select(users.c.external_id, users.c.email, channel_unsubscribes.c.at.label("unsubscribed_at"))
            .select_from(users.outerjoin(channel_unsubscribes, _EMAIL_UNSUBSCRIBE))
            .where(users.c.app_id == app_id, users.c.id == user_id)
        )
        async with self._db.read.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return Recipient(user_id, row.external_id, row.email, row.unsubscribed_at is not None)

    async def unsubscribe_email(self, app_id: str, user_id: str) -> bool:
        """Record the opt-out (idempotent: the first time is kept); False if the user is gone."""
        async with self._db.writing() as connection:
            exists = await connection.scalar(
                select(users.c.id).where(users.c.app_id == app_id, users.c.id == user_id)
            )
            if exists is None:
                return False
            statement = upsert_into(self._db, channel_unsubscribes).values(
                user_id=user_id, channel="email", app_id=app_id, at=self._clock.now()
            )
            await connection.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "channel"]))
            now = self._clock.now()
            await connection.run_sync(lambda conn: exit_on(conn, app_id, user_id, "unsubscribed", now))
        return True


_EMAIL_UNSUBSCRIBE = and_(
    channel_unsubscribes.c.user_id == users.c.id, channel_unsubscribes.c.channel == "email"
)
