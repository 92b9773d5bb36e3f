"""A user's learned profile as of now: interests, engagement windows, open propensity, reachability.

Read, never stored in this form: interests and propensity are kept as decayed sums
(`domain/audience/decay.py`) and engagement as per-day counters, so the figures a
reader sees are always "as of now" without any job refreshing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.interests import affinity
from pushwise.domain.audience.learning import ALL_TIME, LearningOptions, day_of, open_propensity
from pushwise.domain.push_permission import shown_permission
from pushwise.store.db import Database
from pushwise.store.schema import channel_unsubscribes, devices, user_engagement, user_interests, users

ENGAGEMENT_COUNTERS = ("sent", "delivered", "opened", "clicked", "dismissed", "converted", "revenue")
WINDOWS = {"7d": 7, "30d": 30}


@dataclass(frozen=True, slots=True)
class Reachability:
    """Where pushes and messages can reach the user now."""

    active_devices: Mapping[str, int]  # platform -> active devices
    push_permission: str | None  # granted (some device can show pushes) | denied | None (unknown)
    email: bool  # an address is known and not unsubscribed
    email_verified: bool
    unsubscribed: tuple[str, ...]  # channels the user unsubscribed from


@dataclass(frozen=True, slots=True)
class LearnedProfile:
    interests: Mapping[str, float]  # category -> affinity now, strongest first
    engagement: Mapping[str, Mapping[str, float]]  # "7d" | "30d" | "all" -> counter -> value
    open_propensity: float
    reachability: Reachability
    raw_interests: Mapping[str, float] = field(default_factory=dict)  # decayed raw weights


class ProfileReader:
    def __init__(self, db: Database, options: LearningOptions) -> None:
        self._db = db
        self._options = options

    async def learned(self, user_id: str, now: float) -> LearnedProfile:
        return await self._db.query(lambda conn: _learned(conn, user_id, now, self._options))


def _learned(conn: Connection, user_id: str, now: float, options: LearningOptions) -> LearnedProfile:
    raw = {
        row.category: Decayed(row.weight, row.at).worth(now, options.interest_half_life)
        for row in conn.execute(
            select(user_interests.c.category, user_interests.c.weight, user_interests.c.at).where(
                user_interests.c.user_id == user_id
            )
        )
    }
    interests = dict(sorted(((c, affinity(w)) for c, w in raw.items()), key=lambda item: -item[1]))
    return LearnedProfile(
        interests=interests,
        engagement=_engagement(conn, user_id, now),
        open_propensity=_propensity(conn, user_id, now, options),
        reachability=_reachability(conn, user_id),
        raw_interests=raw,
    )


def _engagement(conn: Connection, user_id: str, now: float) -> dict[str, dict[str, float]]:
    today = day_of(now)
    sums = [func.coalesce(func.sum(user_engagement.c[name]), 0) for name in ENGAGEMENT_COUNTERS]
    windows: dict[str, dict[str, float]] = {}
    for label, days in WINDOWS.items():
        row = conn.execute(
            select(*sums).where(user_engagement.c.user_id == user_id, user_engagement.c.day > today - days)
        ).one()
        windows[label] = _counters(row)
    total = conn.execute(
        select(*(user_engagement.c[name] for name in ENGAGEMENT_COUNTERS)).where(
            user_engagement.c.user_id == user_id, user_engagement.c.day == ALL_TIME
        )
    ).first()
    windows["all"] = _counters(total) if total is not None else dict.fromkeys(ENGAGEMENT_COUNTERS, 0)
    return windows


def _counters(row: Any) -> dict[str, float]:
    return {
        name: (float(value) if name == "revenue" else int(value))
        for name, value in zip(ENGAGEMENT_COUNTERS, row, strict=True)
    }


def _propensity(conn: Connection, user_id: str, now: float, options: LearningOptions) -> float:
    row = conn.execute(
        select(users.c.opens_decayed, users.c.pushes_decayed, users.c.engaged_at).where(users.c.id == user_id)
    ).one()
    if row.engaged_at is None:
        return open_propensity(0.0, 0.0)
    half_life = options.propensity_half_life
    return open_propensity(
        Decayed(row.opens_decayed, row.engaged_at).worth(now, half_life),
        Decayed(row.pushes_decayed, row.engaged_at).worth(now, half_life),
    )


def _reachability(conn: Connection, user_id: str) -> Reachability:
    active: dict[str, int] = {}
    permissions: set[str] = set()
    for row in conn.execute(
        select(devices.c.platform, devices.c.active, devices.c.deactivated_reason).where(
            devices.c.user_id == user_id
        )
    ):
        if row.active:
            active[row.platform] = active.get(row.platform, 0) + 1
        permission = shown_permission(active=bool(row.active), deactivated_reason=row.deactivated_reason)
        if permission is not None:
            permissions.add(permission)
    unsubscribed = tuple(
        sorted(
            conn.execute(
                select(channel_unsubscribes.c.channel).where(channel_unsubscribes.c.user_id == user_id)
            ).scalars()
        )
    )
    person = conn.execute(select(users.c.email, users.c.email_verified).where(users.c.id == user_id)).one()
    permission = "granted" if "granted" in permissions else ("denied" if permissions else None)
    return Reachability(
        active_devices=active,
        push_permission=permission,
        email=bool(person.email) and "email" not in unsubscribed,
        email_verified=bool(person.email_verified),
        unsubscribed=unsubscribed,
    )
