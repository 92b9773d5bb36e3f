"""The profile part of journey conditions, for a batch of users: one query per distinct leaf.

Each segment leaf of a branch's `if` (or a trigger's `where`) is compiled by the segment
compiler for the app at `now`, restricted to the batch's users; the answer is the set of
users it holds for. The journey's own leaves (`did.*`, `event.*`) never reach here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from pushwise.domain.audience.learning import LearningOptions
from pushwise.domain.audience.rule_parser import parse_rule
from pushwise.store.schema import users
from pushwise.store.segment_sql import Compiled
from pushwise.store.segments import segment_condition

_HALF_LIFE = LearningOptions.defaults().interest_half_life


def profile_matches(
    conn: Connection,
    app_id: str,
    leaves: Mapping[str, Mapping[str, Any]],
    user_ids: Sequence[str],
    now: float,
    interest_half_life: float = _HALF_LIFE,
) -> dict[str, set[str]]:
    """Per leaf path, the users of `user_ids` it holds for."""
    if not leaves or not user_ids:
        return {}
    at = Compiled(conn.dialect.name, app_id, now, interest_half_life)
    found: dict[str, set[str]] = {}
    for path, leaf in leaves.items():
        condition = segment_condition(conn, at, parse_rule(leaf, path))
        query = select(users.c.id).where(users.c.app_id == app_id, users.c.id.in_(user_ids), condition)
        found[path] = set(conn.execute(query).scalars())
    return found
