"""Saved segments, and segment rules resolved and counted in the database.

A rule naming saved segments is resolved inside the transaction that uses it
(`resolve`): the saved rules it reaches are read there and put in place, so a
notification is planned with exactly the segments that existed when it was
accepted. A segment another one names cannot be deleted (`SegmentInUse`), so a
saved rule never points at nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update

from pushwise.domain.audience.rule_parser import parse_rule
from pushwise.domain.audience.rules import Rule
from pushwise.domain.audience.saved import MAX_EXPANSIONS, inline, referenced
from pushwise.domain.clock import Clock
from pushwise.store.categories import app_categories
from pushwise.store.db import Database
from pushwise.store.ids import new_id
from pushwise.store.schema import segments, users
from pushwise.store.segment_sql import Compiled, user_condition

SAMPLE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    app_id: str
    name: str
    rule: dict[str, Any]
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class Preview:
    count: int
    sample: list[str]  # external ids, at most SAMPLE_SIZE


class SegmentInUse(Exception):
    """Other saved segments name this one; they must change first."""

    def __init__(self, used_by: list[str]) -> None:
        super().__init__(", ".join(used_by))
        self.used_by = used_by


def _segment(row: Any) -> Segment:
    return Segment(row.id, row.app_id, row.name, row.rule, row.created_at, row.updated_at)


def saved_rules(conn: Connection, app_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored rules (JSON) of those of `ids` that are this app's segments."""
    if not ids:
        return {}
    query = select(segments.c.id, segments.c.rule).where(segments.c.app_id == app_id, segments.c.id.in_(ids))
    return {row.id: row.rule for row in conn.execute(query)}


def resolve(conn: Connection, app_id: str, rule: Rule, *, own_id: str | None = None) -> Rule:
    """`rule` with the app's saved segments it reaches put in place (`RuleError` if it cannot be)."""
    reached: dict[str, Rule] = {}
    wanted = referenced(rule)
    while wanted and len(reached) <= MAX_EXPANSIONS:
        found = saved_rules(conn, app_id, wanted)
        for segment_id, stored in found.items():
            reached[segment_id] = parse_rule(stored, f"segment {segment_id}")
        named = (ref for segment_id in found for ref in referenced(reached[segment_id]))
        wanted = list(dict.fromkeys(ref for ref in named if ref not in reached))
    return inline(rule, reached, own_id=own_id)


def segment_condition(
    conn: Connection, at: Compiled, rule: Rule, *, own_id: str | None = None
) -> ColumnElement[bool]:
    """`rule` as a condition on the app's users, saved segments and the app's categories read in `conn`."""
    resolved = resolve(conn, at.app_id, rule, own_id=own_id)
    known = {category.key: category for category in app_categories(conn, at.app_id)}
    return user_condition(resolved, replace(at, categories=known))


class SegmentRepository:
    def __init__(self, db: Database, clock: Clock, *, interest_half_life: float) -> None:
        self._db = db
        self._clock = clock
        self._half_life = interest_half_life

    def compiled(self, app_id: str, now: float) -> Compiled:
        return Compiled(self._db.dialect, app_id, now, self._half_life)

    async def create(self, app_id: str, name: str, rule: dict[str, Any]) -> Segment:
        parsed = parse_rule(rule)
        now = self._clock.now()
        segment = Segment(new_id("seg"), app_id, name, rule, now, now)

        def write(conn: Connection) -> None:
            resolve(conn, app_id, parsed)
            conn.execute(insert(segments).values(**asdict(segment)))

        await self._db.transact(write)
        return segment

    async def get(self, app_id: str, segment_id: str) -> Segment | None:
        query = select(segments).where(segments.c.app_id == app_id, segments.c.id == segment_id)
        async with self._db.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return _segment(row) if row is not None else None

    async def list(self, app_id: str, *, after: str | None, limit: int) -> list[Segment]:
        query = select(segments).where(segments.c.app_id == app_id).order_by(segments.c.id).limit(limit)
        if after is not None:
            query = query.where(segments.c.id > after)
        async with self._db.read.connect() as conn:
            return [_segment(row) for row in await conn.execute(query)]

    async def update(self, app_id: str, segment_id: str, name: str, rule: dict[str, Any]) -> Segment | None:
        parsed = parse_rule(rule)
        now = self._clock.now()

        def write(conn: Connection) -> Any:
            resolve(conn, app_id, parsed, own_id=segment_id)
            return conn.execute(
                update(segments)
                .where(segments.c.app_id == app_id, segments.c.id == segment_id)
                .values(name=name, rule=rule, updated_at=now)
                .returning(*segments.c)
            ).first()

        row = await self._db.transact(write)
        return _segment(row) if row is not None else None

    async def delete(self, app_id: str, segment_id: str) -> bool:
        def write(conn: Connection) -> bool:
            rules = conn.execute(
                select(segments.c.id, segments.c.rule).where(
                    segments.c.app_id == app_id, segments.c.id != segment_id
                )
            )
            used_by = [row.id for row in rules if segment_id in _names(row.rule)]
            if used_by:
                raise SegmentInUse(sorted(used_by))
            deleted = conn.execute(
                delete(segments).where(segments.c.app_id == app_id, segments.c.id == segment_id)
            )
            return bool(deleted.rowcount)

        return await self._db.transact(write)

    async def preview(self, app_id: str, rule: Rule) -> Preview:
        """How many of the app's users the rule selects now, and some of them."""
        at = self.compiled(app_id, self._clock.now())

        def read(conn: Connection) -> Preview:
            condition = segment_condition(conn, at, rule)
            scope = (users.c.app_id == app_id, condition)
            count = conn.execute(select(func.count()).select_from(users).where(*scope)).scalar_one()
            sample = conn.execute(select(users.c.external_id).where(*scope).limit(SAMPLE_SIZE)).scalars()
            return Preview(int(count), sorted(sample))

        return await self._db.query(read)


def _names(stored: Mapping[str, Any]) -> list[str]:
    """Saved segments a stored rule names; a rule that no longer parses names none."""
    try:
        return referenced(parse_rule(stored))
    except ValueError:
        return []
