"""Message templates: versions in the database, compiled once per process.

A version never changes once written, so a compiled template is cached by
(app, key, version) for the life of the process and every worker of a campaign
renders from the same compiled object.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from pushwise.domain.content.templates import CompiledTemplate, compile_template
from pushwise.store.db import Database
from pushwise.store.schema import templates


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    key: str
    version: int
    definition: Mapping[str, Any]
    created_at: float


class TemplateRepository:
    def __init__(self, db: Database, capacity: int = 1024) -> None:
        self._db = db
        self._capacity = capacity
        self._compiled: OrderedDict[tuple[str, str, int], CompiledTemplate] = OrderedDict()

    async def put(self, app_id: str, key: str, definition: Mapping[str, Any], now: float) -> StoredTemplate:
        """Store a new version (the caller compiled it first, so only valid templates get here)."""

        def write(conn: Connection) -> int:
            latest = conn.execute(
                select(func.max(templates.c.version)).where(
                    templates.c.app_id == app_id, templates.c.key == key
                )
            ).scalar()
            version = int(latest or 0) + 1
            conn.execute(
                templates.insert().values(
                    app_id=app_id, key=key, version=version, definition=dict(definition), created_at=now
                )
            )
            return version

        version = await self._db.transact(write)
        return StoredTemplate(key, version, definition, now)

    async def current(self, app_id: str, key: str) -> StoredTemplate | None:
        query = (
            select(templates)
            .where(templates.c.app_id == app_id, templates.c.key == key, templates.c.deleted_at.is_(None))
            .order_by(templates.c.version.desc())
            .limit(1)
        )
        async with self._db.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return StoredTemplate(row.key, row.version, row.definition, row.created_at) if row else None

    async def list(self, app_id: str) -> list[StoredTemplate]:
        latest = (
            select(templates.c.key, func.max(templates.c.version).label("version"))
            .where(templates.c.app_id == app_id, templates.c.deleted_at.is_(None))
            .group_by(templates.c.key)
            .subquery()
        )
        query = (
            select(templates)
            .join(latest, (templates.c.key == latest.c.key) & (templates.c.version == latest.c.version))
            .where(templates.c.app_id == app_id)
            .order_by(templates.c.key)
        )
        async with self._db.read.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [StoredTemplate(row.key, row.version, row.definition, row.created_at) for row in rows]

    async def delete(self, app_id: str, key: str, now: float) -> bool:
        statement = (
            update(templates)
            .where(templates.c.app_id == app_id, templates.c.key == key, templates.c.deleted_at.is_(None))
            .values(deleted_at=now)
        )
        async with self._db.writing() as conn:
            return bool((await conn.execute(statement)).rowcount)

    async def compiled(
        self, app_id: str, wanted: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], CompiledTemplate]:
        """Compiled versions by (key, version), from the cache or one read for the missing ones."""
        found: dict[tuple[str, int], CompiledTemplate] = {}
        missing = []
        for key, version in set(wanted):
            cached = self._compiled.get((app_id, key, version))
            if cached is not None:
                found[(key, version)] = cached
            else:
                missing.append((key, version))
        if missing:
            keys = sorted({key for key, _ in missing})
            versions = sorted({version for _, version in missing})
            query = select(templates.c.key, templates.c.version, templates.c.definition).where(
                templates.c.app_id == app_id, templates.c.key.in_(keys), templates.c.version.in_(versions)
            )
            rows = await self._db.query(lambda conn: conn.execute(query).all())
            for row in rows:
                if (row.key, row.version) in missing:
                    compiled = compile_template(row.key, row.version, row.definition)
                    self._compiled[(app_id, row.key, row.version)] = compiled
                    found[(row.key, row.version)] = compiled
            while len(self._compiled) > self._capacity:
                self._compiled.popitem(last=False)
        return found
