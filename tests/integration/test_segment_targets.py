"""The planner expands `to.segment` inside the database, on both engines.

One delivery per active device of each selected user; selected users with no active
device go straight to the first user channel of `fallback.channels`; the rule is
evaluated at the injected clock's time; saved segments are read as they are at
acceptance, and the notification records the rule it was sent with.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pushwise.bootstrap import Services, build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.audience.reference import Person
from pushwise.domain.audience.rule_parser import parse_rule
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, Fallback, NotificationSpec
from pushwise.settings import Settings
from pushwise.store.notifications import SegmentTarget, Target
from pushwise.store.schema import notifications
from tests.integration.pg_databases import fresh_store
from tests.integration.segment_population import Population
from tests.segment_strategies import DAY, NOW

pytestmark = pytest.mark.integration

PEOPLE = {
    "ios_de": Person(country="DE", platforms=frozenset({"ios"}), last_active_at=NOW - DAY),
    "two_de": Person(country="DE", platforms=frozenset({"ios", "web"}), last_active_at=NOW - 10 * DAY),
    "none_de": Person(country="DE", last_active_at=NOW - DAY),
    "ios_fr": Person(country="FR", platforms=frozenset({"ios"}), last_active_at=NOW - DAY),
}
GERMANS = {"field": "country", "op": "=", "value": "DE"}
RECENT = {"field": "last_active_days", "op": "<", "value": 5}


@pytest.fixture(params=["sqlite", "postgresql"])
async def services(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Services]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        built = build_services(
            Settings(database_url=url, secret_key="segment-target-tests", monitoring=False),
            clock=ManualClock(NOW),
            rng=random.Random(3),
        )
        try:
            yield built
        finally:
            await built.close()


async def _shop(services: Services) -> str:
    population = Population(services.db)
    app_id = await population.app({})
    await population.users(app_id, list(PEOPLE.values()))
    return app_id


async def _send(
    services: Services, app_id: str, segment: SegmentTarget, **spec: Any
) -> list[tuple[str, str]]:
    """Accept a notification to `segment`; returns its (user, channel) deliveries."""
    accepted = await services.engine.accept(
        app_id, AcceptRequest(NotificationSpec(Content(title="Hi"), **spec), Target(segment=segment))
    )
    rows = await services.engine.notifications.deliveries(
        app_id, accepted.id, state=None, after_id=0, limit=100
    )
    assert accepted.recipients == len(rows)
    names = {f"u{i}": name for i, name in enumerate(PEOPLE)}
    return sorted((names[row.user_external_id], row.channel) for row in rows)


async def test_each_active_device_of_each_member_gets_a_delivery(services: Services) -> None:
    app_id = await _shop(services)
    other_app = await _shop(services)  # the same people in another app: never reached
    rule = {"all": [GERMANS, RECENT]}
    planned = await _send(services, app_id, SegmentTarget(rule=parse_rule(rule), rule_json=rule))
    assert planned == [("ios_de", "apns")]
    everyone_german = await _send(
        services, other_app, SegmentTarget(rule=parse_rule(GERMANS), rule_json=GERMANS)
    )
    assert everyone_german == [("ios_de", "apns"), ("two_de", "apns"), ("two_de", "webpush")]


async def test_members_without_a_device_go_to_the_first_user_channel(services: Services) -> None:
    app_id = await _shop(services)
    planned = await _send(
        services,
        app_id,
        SegmentTarget(rule=parse_rule(GERMANS), rule_json=GERMANS),
        fallback=Fallback(channels=("inbox",)),
    )
    assert planned == [("ios_de", "apns"), ("none_de", "inbox"), ("two_de", "apns"), ("two_de", "webpush")]


async def test_the_rule_is_evaluated_at_the_clock_s_time(services: Services) -> None:
    app_id = await _shop(services)
    segment = SegmentTarget(rule=parse_rule(RECENT), rule_json=RECENT)
    assert [user for user, _ in await _send(services, app_id, segment)] == ["ios_de", "ios_fr"]
    assert isinstance(services.clock, ManualClock)
    services.clock.advance(4 * DAY + 1)
    assert await _send(services, app_id, segment) == []


async def test_a_saved_segment_is_used_as_it_is_at_acceptance_and_recorded(services: Services) -> None:
    app_id = await _shop(services)
    saved = await services.engine.segments.create(app_id, "germans", GERMANS)
    french = {"field": "country", "op": "=", "value": "FR"}
    nested = await services.engine.segments.create(
        app_id, "not french", {"not": {"field": "segment", "op": "=", "value": saved.id}}
    )
    await services.engine.segments.update(app_id, saved.id, "french", french)
    planned = await _send(services, app_id, SegmentTarget(segment_id=nested.id))
    assert planned == [("ios_de", "apns"), ("two_de", "apns"), ("two_de", "webpush")]
    async with services.db.read.connect() as conn:
        (target,) = (await conn.execute(select(notifications.c.target))).scalars()
    assert target["segment"] == {"id": nested.id, "rule": nested.rule}
