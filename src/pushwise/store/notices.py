"""Failure notices: at most one per user per period, written as a notification of its own.

Claiming the period and planning the notice's delivery happen in one transaction:
a conditional upsert on `failure_notices` lets exactly one writer through per
period, so two workers seeing the same user's last device die send one notice.

An app's templates live one row per locale; the variant for a permission turned
off is a row of its own whose locale key carries `@denied` (stored locales are
lower-case BCP 47 tags, which never contain `@`), so no column had to be added.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, exists, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.domain.failure_notice import NoticeTemplate
from pushwise.domain.outcomes import OutcomeKind
from pushwise.domain.push_permission import PERMISSION_DENIED
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
from pushwise.store.wakeups import announce_work

NOTICE_CATEGORY = "pushwise.failure_notice"

_DENIED_VARIANT = "@denied"
# The variant's key must fit the `locale` column with its suffix.
VARIANT_LOCALE_MAX = failure_notice_templates.c.locale.type.length - len(_DENIED_VARIANT)  # type: ignore[attr-defined]
# A user's other devices, in the sweep's look for devices turned off.
_OTHER_DEVICES = devices.alias("other_devices")


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A user whose last push device just died, with what the notice needs."""

    app_id: str
    user_id: str
    external_id: str
    app_name: str
    locale: str | None
    permission_denied: bool  # one of the user's devices is off because notifications were turned off


@dataclass(frozen=True, slots=True)
class PermissionDenial:
    """A device turned off for `PermissionDenied`: where the sweep resumes, and whom it concerns."""

    deactivated_at: float
    device_id: str
    app_id: str
    user_id: str


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

    async def permission_denials(
        self, *, after: tuple[float, str], until: float, period: float, limit: int
    ) -> list[PermissionDenial]:
        """Devices turned off for `PermissionDenied` after `after` (time, device id), up to `until`,
        oldest first, of users with no active device who were not told within `period` before
        `until`: the permission counterpart of `token_deaths`.

        `ix_devices_permission_denied` (partial: denied permissions only) finds the page
        between the cursor and `until`; the checks per row found are key lookups.
        """
        at, device_id = after
        has_device = exists().where(
            _OTHER_DEVICES.c.app_id == devices.c.app_id,
            _OTHER_DEVICES.c.user_id == devices.c.user_id,
            _OTHER_DEVICES.c.active,
        )
        told = exists().where(
            failure_notices.c.user_id == devices.c.user_id, failure_notices.c.sent_at > until - period
        )
        query = (
            select(devices.c.deactivated_at, devices.c.id, devices.c.app_id, devices.c.user_id)
            .where(
                ~devices.c.active,
                # Inline, not a parameter: a cached generic plan on PostgreSQL could not match
                # the partial index's condition against `$1`.
                devices.c.deactivated_reason == literal(PERMISSION_DENIED, literal_execute=True),
                devices.c.deactivated_at >= at,  # implied by the next line; bounds the index range
                (devices.c.deactivated_at > at)
                | ((devices.c.deactivated_at == at) & (devices.c.id > device_id)),
                devices.c.deactivated_at <= until,
                devices.c.user_id.is_not(None),
                ~has_device,
                ~told,
            )
            .order_by(devices.c.deactivated_at, devices.c.id)
            .limit(limit)
        )
        async with self._db.read.connect() as conn:
            rows = await conn.execute(query)
            return [PermissionDenial(r.deactivated_at, r.id, r.app_id, r.user_id) for r in rows]

    async def unreachable(self, app_id: str, user_ids: list[str]) -> list[Unreachable]:
        """Of `user_ids`, those with no active device left."""
        has_device = (
            select(devices.c.id).where(and_(devices.c.user_id == users.c.id, devices.c.active)).exists()
        )
        denied = (
            select(devices.c.id)
            .where(devices.c.user_id == users.c.id, devices.c.deactivated_reason == PERMISSION_DENIED)
            .exists()
        )
        query = (
            select(users.c.id, users.c.external_id, users.c.locale, apps.c.name, denied.label("denied"))
            .select_from(users.join(apps, apps.c.id == users.c.app_id))
            .where(users.c.app_id == app_id, users.c.id.in_(user_ids), ~has_device)
        )
        async with self._db.read.connect() as conn:
            rows = await conn.execute(query)
            return [Unreachable(app_id, r.id, r.external_id, r.name, r.locale, bool(r.denied)) for r in rows]

    async def send_once(
        self, user: Unreachable, spec: dict[str, Any], channel: str, now: float, period: float
    ) -> str | None:
        """Plan the notice unless one went out within `period`; returns the notice's notification id."""
        async with self._db.writing() as conn:
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
            # Planned from an API request too, not only from a worker that polls anyway.
            await conn.run_sync(announce_work)
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
        texts = [(locale, t) for locale, t in templates.items()]
        texts += [
            (locale + _DENIED_VARIANT, t.permission_denied)
            for locale, t in templates.items()
            if t.permission_denied is not None
        ]
        rows = [
            {"app_id": app_id, "locale": locale, "title": t.title, "body": t.body, "updated_at": now}
            for locale, t in texts
        ]
        async with self._db.writing() as conn:
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
        variants = {
            r.locale.removesuffix(_DENIED_VARIANT): NoticeTemplate(r.title, r.body)
            for r in rows
            if r.locale.endswith(_DENIED_VARIANT)
        }
        templates = {
            r.locale: NoticeTemplate(r.title, r.body, variants.get(r.locale))
            for r in rows
            if not r.locale.endswith(_DENIED_VARIANT)
        }
        return AppNoticeTemplates(templates, max(r.updated_at for r in rows))

    async def delete(self, app_id: str) -> bool:
        async with self._db.writing() as conn:
            result = await conn.execute(
                delete(failure_notice_templates).where(failure_notice_templates.c.app_id == app_id)
            )
        return bool(result.rowcount)
