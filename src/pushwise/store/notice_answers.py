"""The failure notice's one-tap answers: one per user (a later one replaces it), counted per app."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from pushwise.domain.clock import Clock
from pushwise.domain.notice_answers import ANSWERS
from pushwise.store.db import Database
from pushwise.store.schema import notice_answers, users
from pushwise.store.upsert import dialect_insert


class NoticeAnswers:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def record(self, app_id: str, user_id: str, answer: str) -> bool:
        """False when the user is gone (erased since the notice went out)."""
        now = self._clock.now()

        def write(conn: Connection) -> bool:
            found = conn.scalar(select(users.c.id).where(users.c.app_id == app_id, users.c.id == user_id))
            if found is None:
                return False
            statement = dialect_insert(conn, notice_answers).values(
                user_id=user_id, app_id=app_id, answer=answer, at=now
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["user_id"], set_={"answer": answer, "at": now}
                )
            )
            return True

        return await self._db.transact(write)

    async def counts(self, app_id: str) -> dict[str, int]:
        """Users per answer, every answer listed (0 when nobody gave it)."""
        query = (
            select(notice_answers.c.answer, func.count())
            .where(notice_answers.c.app_id == app_id)
            .group_by(notice_answers.c.answer)
        )

        def read(conn: Connection) -> dict[str, int]:
            found = {answer: int(count) for answer, count in conn.execute(query)}
            return {answer: found.get(answer, 0) for answer in ANSWERS}

        return await self._db.query(read)

    async def of_user(self, app_id: str, user_id: str) -> str | None:
        query = select(notice_answers.c.answer).where(
            notice_answers.c.app_id == app_id, notice_answers.c.user_id == user_id
        )
        return await self._db.query(lambda conn: conn.scalar(query))
