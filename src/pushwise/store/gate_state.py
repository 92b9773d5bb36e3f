"""What the gate needs for a whole claimed batch, read in one query.

One `UNION ALL` brings the users' choices for the batch's categories and channels, their
global unsubscribes of the batch's channels, and the apps' definitions of those categories,
so the cost is one read per batch whatever its size, never one per delivery. Each list is
bound as one value (a JSON array on SQLite, an array on PostgreSQL), so the SQL text is the
same for every batch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    ColumnElement,
    CompoundSelect,
    Connection,
    String,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from pushwise.domain.audience.preferences import Category, Preferences
from pushwise.domain.gate import GatePolicy, UserState
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.schema import categories, channel_unsubscribes, user_preferences

_CHOICE, _UNSUBSCRIBED, _CATEGORY = "choice", "unsubscribed", "category"
_NO_TEXT = cast(null(), String)

Member = Callable[[ColumnElement[str], str], ColumnElement[bool]]


def _in_json_list(column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """SQLite: membership in a JSON array bound as one text value. A batch's 500 user ids as an
    `IN` list would be 500 binds, expanded into new SQL text (parsed anew) on every batch."""
    return column.in_(
        select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=String)))
    )


def _in_array(column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """PostgreSQL: `= ANY(array)`, one bind whatever the batch's size."""
    return column == any_(bindparam(name, type_=ARRAY(String)))


def _batch_state_query(member: Member) -> CompoundSelect[Any]:
    return union_all(
        select(
            literal(_CHOICE).label("kind"),
            user_preferences.c.user_id.label("owner"),
            user_preferences.c.category.label("key"),
            user_preferences.c.channel.label("channel"),
            user_preferences.c.allowed.label("flag"),
            _NO_TEXT.label("channels"),
        ).where(
            member(user_preferences.c.user_id, "user_ids"),
            member(user_preferences.c.category, "keys"),
            member(user_preferences.c.channel, "channels"),
        ),
        select(
            literal(_UNSUBSCRIBED),
            channel_unsubscribes.c.user_id,
            _NO_TEXT,
            channel_unsubscribes.c.channel,
            literal(True, Boolean),
            _NO_TEXT,
        ).where(
            member(channel_unsubscribes.c.user_id, "user_ids"),
            member(channel_unsubscribes.c.channel, "channels"),
        ),
        select(
            literal(_CATEGORY),
            categories.c.app_id,
            categories.c.key,
            _NO_TEXT,
            categories.c.default_on,
            cast(categories.c.channels, Text),
        ).where(member(categories.c.app_id, "app_ids"), member(categories.c.key, "keys")),
    )


_BATCH_STATE = {"sqlite": _batch_state_query(_in_json_list), "postgresql": _batch_state_query(_in_array)}


@dataclass(frozen=True, slots=True)
class BatchState:
    users: Mapping[str, UserState] = field(default_factory=dict)
    policies: Mapping[str, GatePolicy] = field(default_factory=dict)

    def user(self, user_id: str | None) -> UserState:
        return self.users.get(user_id, _NO_STATE) if user_id is not None else _NO_STATE

    def policy(self, app_id: str) -> GatePolicy:
        return self.policies.get(app_id, _NO_POLICY)


_NO_STATE = UserState()
_NO_POLICY = GatePolicy()


class GateStates:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def read(
        self,
        app_ids: Collection[str],
        user_ids: Collection[str],
        keys: Collection[str],
        channels: Collection[str],
    ) -> BatchState:
        """State of `user_ids` and the policies of `app_ids`, limited to what can matter to the
        batch: its categories `keys` and its `channels`."""
        if not user_ids and not keys:
            return BatchState()
        lists = {
            "user_ids": sorted(user_ids),
            "app_ids": sorted(app_ids),
            "keys": sorted(keys),
            "channels": sorted(channels),
        }
        if self._db.is_sqlite:
            params: dict[str, Any] = {name: orjson.dumps(values).decode() for name, values in lists.items()}
        else:
            params = dict(lists)
        return await self._db.query(lambda conn: _batch_state(conn, params))


def _batch_state(conn: Connection, params: dict[str, Any]) -> BatchState:
    choices: dict[str, dict[tuple[str, str], bool]] = {}
    unsubscribed: dict[str, set[str]] = {}
    defined: dict[str, dict[str, Category]] = {}
    # Plain tuples straight from the driver: a batch's state is thousands of rows.
    for kind, owner, key, channel, flag, listed in run(conn, _BATCH_STATE[conn.dialect.name], params):
        if kind == _CHOICE:
            choices.setdefault(owner, {})[(key, channel)] = bool(flag)
        elif kind == _UNSUBSCRIBED:
            unsubscribed.setdefault(owner, set()).add(channel)
        else:
            channels = orjson.loads(listed) if listed is not None else None
            defined.setdefault(owner, {})[key] = Category(
                key, key, bool(flag), tuple(channels) if channels is not None else None
            )
    users = {
        user_id: UserState(Preferences(choices.get(user_id, {}), frozenset(unsubscribed.get(user_id, ()))))
        for user_id in choices.keys() | unsubscribed.keys()
    }
    return BatchState(users, {app_id: GatePolicy(found) for app_id, found in defined.items()})
