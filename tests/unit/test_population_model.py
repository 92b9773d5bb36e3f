"""The built-in population reproduces its calibration figures (docs/population.md) within the
tolerances stated there. Pure: the model alone, no engine, fixed seeds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pushwise.population import PopulationModel, SeenPush, SimUser
from pushwise.population.builtin_model import ANNOYED_VISITS_FLOOR, CATEGORIES, ShopModel, annoyed_share

START = datetime(2026, 9, 7, tzinfo=UTC)


def people(size: int = 20_000, seed: int = 5) -> list[SimUser]:
    return list(ShopModel(size).users(random.Random(seed)))


def noon(user: SimUser, day: int) -> datetime:
    zone = ZoneInfo(user.timezone)
    local = datetime.combine((START + timedelta(days=day)).date(), datetime.min.time(), zone)
    return (local + timedelta(hours=12)).astimezone(UTC)


def push(at: datetime, category: str) -> SeenPush:
    return SeenPush(at, "Today's deal", "30% off", category, {}, "ntf", "1", "apns")


def test_it_is_a_population_model() -> None:
    assert isinstance(ShopModel(3), PopulationModel)


@pytest.mark.parametrize(("platform", "published"), [("ios", 0.51), ("android", 0.81)])
def test_opt_in_rates_by_platform(platform: str, published: float) -> None:
    group = [u for u in people() if u.platform == platform]
    share = sum(u.push_enabled for u in group) / len(group)
    assert abs(share - published) < 0.02, share


@pytest.mark.parametrize(("platform", "published"), [("ios", 0.05), ("android", 0.10)])
def test_open_rate_of_a_generic_push_by_platform(platform: str, published: float) -> None:
    """One push in a random category at local noon to fresh users: the direct open rate."""
    model, rng = ShopModel(), random.Random(9)
    group = [u for u in people() if u.platform == platform and u.push_enabled]
    opened = sum(
        any(e.type == "opened" for e in model.react(u, push(noon(u, 0), rng.choice(CATEGORIES)), rng))
        for u in group
    )
    assert abs(opened / len(group) - published) < published * 0.25, opened / len(group)


def disabled_share(per_week: int) -> float:
    """Generic pushes (random category, local noon) at `per_week` for 13 weeks: who turned them off."""
    model, rng = ShopModel(), random.Random(11)
    group = [u for u in people(8_000) if u.push_enabled]
    days = [d for d in range(91) if d % 7 < per_week]
    for user in group:
        for day in days:
            if user.push_enabled:
                model.react(user, push(noon(user, day), rng.choice(CATEGORIES)), rng)
    return sum(not u.push_enabled for u in group) / len(group)


def test_disable_rates_by_weekly_volume() -> None:
    """Localytics 2017: 10% would turn pushes off at one a week, 37% more at two to five."""
    weekly = disabled_share(1)
    assert 0.06 <= weekly <= 0.14, weekly
    five = disabled_share(5)
    assert 0.30 <= five - weekly <= 0.45, five


def test_fatigue_rises_with_volume_and_recovers_after_a_quiet_week() -> None:
    model, rng = ShopModel(), random.Random(3)
    user = next(u for u in people(200) if u.push_enabled)
    user.state["disable_at"] = user.state["uninstall_at"] = 1_000.0  # nobody leaves: fatigue alone
    first = noon(user, 0)
    irrelevant = next(c for c in CATEGORIES if c not in user.state["interests"])
    for minute in range(10):
        model.react(user, push(first + timedelta(minutes=minute), irrelevant), rng)
    user.state["disable_at"] = 2.0  # ten pushes in a day against a tolerance of two a week
    assert annoyed_share(user.state, first.timestamp() + 3600) > 0.5 * ANNOYED_VISITS_FLOOR
    assert annoyed_share(user.state, first.timestamp() + 8 * 86_400) == 0.0


def test_uninstalls_leave_no_later_behaviour() -> None:
    model, rng = ShopModel(), random.Random(4)
    user = people(1)[0]
    user.state["uninstalled"] = True
    assert model.day(user, START, rng) == []
    assert model.react(user, push(noon(user, 0), CATEGORIES[0]), rng) == []


def test_a_day_stays_inside_its_utc_day_and_is_in_order() -> None:
    model, rng = ShopModel(), random.Random(6)
    for user in people(2_000):
        user.state["attachment"] = 1.0
        events = model.day(user, START, rng)
        assert all(e.at >= START for e in events)
        assert [e.at for e in events] == sorted(e.at for e in events)
