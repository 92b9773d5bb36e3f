"""What the gate needs for a whole claimed batch, read in one query.

One `UNION ALL` brings the users' choices for the batch's categories, their global
unsubscribes, and the apps' definitions of those categories, so the cost is one read
per batch whatever its size, never one per delivery.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Boolean, Connection, String, Text, bindparam, cast, literal, null, select, union_all

from pushwise.domain.audience.preferences import Category, Preferences
from pushwise.domain.gate import GatePolicy, UserState
from pushwise.store.db import Database
from pushwise.store.schema import categories, channel_unsubscribes, user_preferences

_CHOICE, _UNSUBSCRIBED, _CATEGORY = "choice", "unsubscribed", "category"
_NO_TEXT = cast(null(), String)

_BATCH_STATE = union_all(
    select(
        literal(_CHOICE).label("kind"),
        user_preferences.c.user_id.label("owner"),
        user_preferences.c.category.label("key"),
        user_preferences.c.channel.label("channel"),
        user_preferences.c.allowed.label("flag"),
        _NO_TEXT.label("channels"),
    ).where(
        user_preferences.c.user_id.in_(bindparam("user_ids", expanding=True)),
        user_preferences.c.category.in_(bindparam("keys", expanding=True)),
    ),
    select(
        literal(_UNSUBSCRIBED),
        channel_unsubscribes.c.user_id,
        _NO_TEXT,
        channel_unsubscribes.c.channel,
        literal(True, Boolean),
        _NO_TEXT,
    ).where(channel_unsubscribes.c.user_id.in_(bindparam("user_ids", expanding=True))),
    select(
        literal(_CATEGORY),
        categories.c.app_id,
        categories.c.key,
        _NO_TEXT,
        categories.c.default_on,
        cast(categories.c.channels, Text),
    ).where(
        categories.c.app_id.in_(bindparam("app_ids", expanding=True)),
        categories.c.key.in_(bindparam("keys", expanding=True)),
    ),
)


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
        self, app_ids: Collection[str], user_ids: Collection[str], keys: Collection[str]
    ) -> BatchState:
        """State of `user_ids` and the policies of `app_ids`, limited to the categories `keys`."""
        if not user_ids and not keys:
            return BatchState()
        params = {"user_ids": list(user_ids), "app_ids": list(app_ids), "keys": list(keys)}
        return await self._db.query(lambda conn: _batch_state(conn, params))


def _batch_state(conn: Connection, params: dict[str, Any]) -> BatchState:
    choices: dict[str, dict[tuple[str, str], bool]] = {}
    unsubscribed: dict[str, set[str]] = {}
    defined: dict[str, dict[str, Category]] = {}
    for row in conn.execute(_BATCH_STATE, params):
        if row.kind == _CHOICE:
            choices.setdefault(row.owner, {})[(row.key, row.channel)] = bool(row.flag)
        elif row.kind == _UNSUBSCRIBED:
            unsubscribed.setdefault(row.owner, set()).add(row.channel)
        else:
            channels = orjson.loads(row.channels) if row.channels is not None else None
            defined.setdefault(row.owner, {})[row.key] = Category(
                row.key, row.key, bool(row.flag), tuple(channels) if channels is not None else None
            )
    users = {
        user_id: UserState(Preferences(choices.get(user_id, {}), frozenset(unsubscribed.get(user_id, ()))))
        for user_id in choices.keys() | unsubscribed.keys()
    }
    return BatchState(users, {app_id: GatePolicy(found) for app_id, found in defined.items()})
