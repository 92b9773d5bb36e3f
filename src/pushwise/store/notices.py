"""Failure notices: at most one per user per period, written as a notification of its own.

Claiming the period and planning the notice's delivery happen in one transaction:
a conditional upsert on `failure_notices` lets exactly one writer through per
period, so two workers seeing the same user's last device die send one notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.domain.failure_notice import NoticeTemplate
from pushwise.domain.outcomes import OutcomeKind
from pushwise.domain.states import TRANSACTIONAL_LANE, DeliveryState
from pushwise.store.db import Database
from pushwise.store.fallback import ended_undelivered_after
from pushwise.store.ids import new_id
from pushwise.store.schema import (
    apps,
    attempts,
    deliveries,
    devices,
    failure_notice_templates,
    failure_notices,
    notifications,
    users,
)
from pushwise.store.upsert import upsert_into

NOTICE_CATEGORY = "pushwise.failure_notice"


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A user whose last push device just died, with what the notice needs."""

    app_id: str
    user_id: str
    external_id: str
    app_name: str
    locale: str | None


@dataclass(frozen=True, slots=True)
class TokenDeath:
    """A delivery whose device's token died: where the sweep resumes, and whom it concerns."""

    outcome_at: float
    delivery_id: int
    app_id: str
    user_id: str


class NoticeRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def token_deaths(
        self, *, after: tuple[float, int], until: float, period: float, limit: int
    ) -> list[TokenDeath]:
        """Token-dead deliveries after `after` (outcome time, id), up to `until`, oldest first,
        of users with no active device who were not told within `period` before `until`.

        A delivery a fallback step replaced counts too: its step may have been planned just
        before a crash kept the notice from being. Uses the partial index
        `ix_deliveries_gave_up`; the checks per row are key lookups.
        """
        token_died = exists().where(
            attempts.c.delivery_id == deliveries.c.id, attempts.c.outcome == OutcomeKind.TOKEN_DEAD.value
        )
        has_device = exists().where(
            devices.c.app_id == deliveries.c.app_id,
            devices.c.user_id == deliveries.c.user_id,
            devices.c.active,
        )
        told = exists().where(
            failure_notices.c.user_id == deliveries.c.user_id, failure_notices.c.sent_at > until - period
        )
        query = (
            select(deliveries.c.outcome_at, deliveries.c.id, deliveries.c.app_id, deliveries.c.user_id)
            .where(
                ended_undelivered_after(after, until),
                deliveries.c.user_id.is_not(None),
                token_died,
                ~has_device,
                ~told,
            )
            .order_by(deliveries.c.outcome_at, deliveries.c.id)
            .limit(limit)
        )
        async with self._db.read.connect() as conn:
            rows = await conn.execute(query)
            return [TokenDeath(r.outcome_at, r.id, r.app_id, r.user_id) for r in rows]

    async def unreachable(self, app_id: str, user_ids: list[str]) -> list[Unreachable]:
        """Of `user_ids`, those with no active device left."""
        has_device = (
            select(devices.c.id).where(and_(devices.c.user_id == users.c.id, devices.c.active)).exists()
        )
        query = (
            select(users.c.id, users.c.external_id, users.c.locale, apps.c.name)
            .select_from(users.join(apps, apps.c.id == users.c.app_id))
            .where(users.c.app_id == app_id, users.c.id.in_(user_ids), ~has_device)
        )
        async with self._db.read.connect() as conn:
            rows = await conn.execute(query)
            return [Unreachable(app_id, r.id, r.external_id, r.name, r.locale) for r in rows]

    async def send_once(
        self, user: Unreachable, spec: dict[str, Any], channel: str, now: float, period: float
    ) -> str | None:
        """Plan the notice unless one went out within `period`; returns the notice's notification id."""
        async with self._db.write.begin() as conn:
            if not await self._claim(conn, user, channel, now, period):
                return None
            notification_id = new_id("ntf")
            await conn.execute(
                insert(notifications).values(
                    id=notification_id,
                    app_id=user.app_id,
                    spec=spec,
                    target={"user_ids": [user.external_id], "device_ids": [], "all": False},
                    priority="transactional",
                    category=NOTICE_CATEGORY,
                    created_at=now,
                    send_at=None,
                    expires_at=None,
                    recipients=1,
                    idempotency_key=None,
                    request_hash=None,
                )
            )
            await conn.execute(
                insert(deliveries).values(
                    notification_id=notification_id,
                    app_id=user.app_id,
                    device_id=None,
                    user_id=user.user_id,
                    channel=channel,
                    state=DeliveryState.QUEUED.value,
                    lane=TRANSACTIONAL_LANE,
                    attempts=0,
                    due_at=now,
                    accepted_at=now,
                )
            )
            return notification_id

    async def _claim(
        self, conn: AsyncConnection, user: Unreachable, channel: str, now: float, period: float
    ) -> bool:
        statement = upsert_into(self._db, failure_notices).values(
            user_id=user.user_id, app_id=user.app_id, sent_at=now, channel=channel
        )
        statement = statement.on_conflict_do_update(
            index_elements=[failure_notices.c.user_id],
            set_={"sent_at": now, "channel": channel},
            where=failure_notices.c.sent_at <= now - period,
        )
        result = await conn.execute(statement)
        return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class AppNoticeTemplates:
    templates: dict[str, NoticeTemplate]  # by normalised locale
    updated_at: float


class NoticeTemplates:
    """An app's own failure-notice texts; an app with none uses the built-in ones."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, app_id: str, templates: Mapping[str, NoticeTemplate], now: float) -> None:
        """Replace the app's whole set: locales left out go back to the built-in text."""
        rows = [
            {"app_id": app_id, "locale": locale, "title": t.title, "body": t.body, "updated_at": now}
            for locale, t in templates.items()
        ]
        async with self._db.write.begin() as conn:
            await conn.execute(
                delete(failure_notice_templates).where(failure_notice_templates.c.app_id == app_id)
            )
            if rows:
                await conn.execute(insert(failure_notice_templates), rows)

    async def of_app(self, app_id: str) -> AppNoticeTemplates | None:
        async with self._db.read.connect() as conn:
            rows = list(
                await conn.execute(
                    select(failure_notice_templates).where(failure_notice_templates.c.app_id == app_id)
                )
            )
        if not rows:
            return None
        return AppNoticeTemplates(
            {r.locale: NoticeTemplate(r.title, r.body) for r in rows}, max(r.updated_at for r in rows)
        )

    async def delete(self, app_id: str) -> bool:
        async with self._db.write.begin() as conn:
            result = await conn.execute(
                delete(failure_notice_templates).where(failure_notice_templates.c.app_id == app_id)
            )
        return bool(result.rowcount)
