"""The dashboard's user page: what pushwise knows of one user, read for an operator.

Profile and devices, what the profile learned (engagement, open propensity, interests),
what the user said (preferences, their answer to the failure notice), and the latest
deliveries and events, so a person can see why a user did or did not get a push.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pushwise.bootstrap import Services
from pushwise.domain.audience.preferences import effective_choices
from pushwise.store.devices import Device, DeviceRepository
from pushwise.store.notice_answers import NoticeAnswers
from pushwise.store.preferences import PreferenceRepository, UserPreferences
from pushwise.store.profiles import LearnedProfile, ProfileReader
from pushwise.store.schema import deliveries, user_events
from pushwise.store.users import User, UserRepository

RECENT = 50


@dataclass(frozen=True, slots=True)
class UserPage:
    user: User
    devices: list[Device]
    learned: LearnedProfile
    chosen: UserPreferences
    grid: dict[str, dict[str, bool]]
    notice_answer: str | None
    deliveries: list[Any]
    events: list[Any]


async def user_page(services: Services, app_id: str, external_id: str) -> UserPage | None:
    db, clock = services.db, services.clock
    user = await UserRepository(db, clock).get(app_id, external_id)
    chosen = await PreferenceRepository(db, clock).of_user(app_id, external_id) if user else None
    if user is None or chosen is None:
        return None
    return UserPage(
        user=user,
        devices=await DeviceRepository(db, clock).list_for_user(app_id, user.id),
        learned=await ProfileReader(db, services.audience.learning).learned(user.id, clock.now()),
        chosen=chosen,
        grid=effective_choices(chosen.categories, chosen.preferences),
        notice_answer=await NoticeAnswers(db, clock).of_user(app_id, user.id),
        deliveries=await db.query(lambda conn: list(conn.execute(_recent_deliveries(app_id, user.id)))),
        events=await db.query(lambda conn: list(conn.execute(_recent_events(app_id, user.id)))),
    )


def _recent_deliveries(app_id: str, user_id: str) -> Any:
    d = deliveries.c
    return (
        select(
            d.id,
            d.notification_id,
            d.channel,
            d.state,
            d.attempts,
            d.last_reason,
            d.accepted_at,
            d.outcome_at,
        )
        .where(d.app_id == app_id, d.user_id == user_id)
        .order_by(d.id.desc())
        .limit(RECENT)
    )


def _recent_events(app_id: str, user_id: str) -> Any:
    e = user_events.c
    return (
        select(e.type, e.at, e.category, e.notification_id, e.value, e.currency)
        .where(e.app_id == app_id, e.user_id == user_id)
        .order_by(e.at.desc(), e.id.desc())
        .limit(RECENT)
    )
