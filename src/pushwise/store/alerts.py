"""Alert rules and sinks per app, the alert history, and credential health."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from pushwise.store.db import Database
from pushwise.store.ids import new_id
from pushwise.store.schema import (
    alert_events,
    alert_rules,
    alert_sinks,
    credential_health,
    provider_credentials,
)
from pushwise.store.upsert import upsert_into


@dataclass(frozen=True, slots=True)
class AlertEvent:
    id: str
    app_id: str
    rule: str
    subject: str
    state: str
    summary: str
    value: float | None
    threshold: float | None
    started_at: float
    notified_at: float | None
    notifications: int
    resolved_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class CredentialHealthRow:
    app_id: str
    channel: str
    status: str
    detail: str
    expires_at: float | None
    checked_at: float


class AlertRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def rules(self, app_id: str) -> list[dict[str, Any]] | None:
        return await self._json(alert_rules, "rules", app_id)

    async def put_rules(self, app_id: str, rules: list[dict[str, Any]], now: float) -> None:
        await self._put_json(alert_rules, "rules", app_id, rules, now)

    async def sinks(self, app_id: str) -> list[dict[str, Any]]:
        return await self._json(alert_sinks, "sinks", app_id) or []

    async def put_sinks(self, app_id: str, sinks: list[dict[str, Any]], now: float) -> None:
        await self._put_json(alert_sinks, "sinks", app_id, sinks, now)

    async def _json(self, table: Any, column: str, app_id: str) -> list[dict[str, Any]] | None:
        async with self._db.read.connect() as conn:
            value = await conn.scalar(select(table.c[column]).where(table.c.app_id == app_id))
        return list(value) if value is not None else None

    async def _put_json(
        self, table: Any, column: str, app_id: str, value: list[dict[str, Any]], now: float
    ) -> None:
        values = {column: value, "updated_at": now}
        statement = upsert_into(self._db, table).values(app_id=app_id, **values)
        async with self._db.writing() as conn:
            await conn.execute(statement.on_conflict_do_update(index_elements=["app_id"], set_=values))

    async def events(
        self, *, app_id: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[AlertEvent]:
        query = select(alert_events).order_by(alert_events.c.started_at.desc()).limit(limit)
        if app_id is not None:
            query = query.where(alert_events.c.app_id == app_id)
        if state is not None:
            query = query.where(alert_events.c.state == state)
        async with self._db.read.connect() as conn:
            return [AlertEvent(**row._mapping) for row in await conn.execute(query)]

    async def firing_counts(self) -> dict[tuple[str, str], int]:
        e = alert_events.c
        query = select(e.app_id, e.rule, func.count()).where(e.state == "firing").group_by(e.app_id, e.rule)
        async with self._db.read.connect() as conn:
            return {(str(a), str(r)): int(n) for a, r, n in await conn.execute(query)}

    async def open_event(
        self,
        app_id: str,
        rule: str,
        subject: str,
        summary: str,
        value: float | None,
        threshold: float,
        now: float,
    ) -> AlertEvent:
        event = AlertEvent(
            new_id("alr"), app_id, rule, subject, "firing", summary, value, threshold, now, now, 1, None
        )
        async with self._db.writing() as conn:
            await conn.execute(alert_events.insert().values(**event.to_dict()))
        return event

    async def notified_again(self, event_id: str, summary: str, value: float | None, now: float) -> None:
        e = alert_events.c
        async with self._db.writing() as conn:
            await conn.execute(
                update(alert_events)
                .where(e.id == event_id)
                .values(summary=summary, value=value, notified_at=now, notifications=e.notifications + 1)
            )

    async def resolve(self, event_id: str, summary: str, value: float | None, now: float) -> None:
        e = alert_events.c
        async with self._db.writing() as conn:
            await conn.execute(
                update(alert_events)
                .where(e.id == event_id)
                .values(
                    state="resolved",
                    resolved_at=now,
                    summary=summary,
                    value=value,
                    notified_at=now,
                    notifications=e.notifications + 1,
                )
            )

    async def configured_channels(self, app_id: str | None = None) -> list[tuple[str, str]]:
        c = provider_credentials.c
        query = select(c.app_id, c.channel).order_by(c.app_id, c.channel)
        if app_id is not None:
            query = query.where(c.app_id == app_id)
        async with self._db.read.connect() as conn:
            return [(str(a), str(ch)) for a, ch in await conn.execute(query)]

    async def put_health(self, rows: Sequence[CredentialHealthRow]) -> None:
        if not rows:
            return
        insert = upsert_into(self._db, credential_health)
        async with self._db.writing() as conn:
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["app_id", "channel"],
                    set_={
                        name: insert.excluded[name]
                        for name in ("status", "detail", "expires_at", "checked_at")
                    },
                ),
                [{name: getattr(row, name) for name in row.__slots__} for row in rows],
            )

    async def health(self, app_id: str | None = None) -> list[CredentialHealthRow]:
        h = credential_health.c
        query = select(credential_health).order_by(h.app_id, h.channel)
        if app_id is not None:
            query = query.where(h.app_id == app_id)
        async with self._db.read.connect() as conn:
            return [CredentialHealthRow(**row._mapping) for row in await conn.execute(query)]
