"""The built-in population: an e-commerce shop's app users, calibrated to published figures.

Every number that shapes behaviour is a named constant below, with its source in
docs/population.md (and a test that the simulated baseline reproduces it within a stated
tolerance: tests/unit/test_population_model.py). The mechanisms, in short:

- *Activity*: each user opens the app on a day with a probability (`attachment`) that decays
  slowly (ordinary churn) and is raised again by pushes the user opens and by purchases.
- *Reactions*: a push that reaches a phone is opened with the platform's base rate, higher when
  its category is one of the user's interests, lower at night and when the user is tired of
  pushes; an open may lead to a click and a purchase.
- *Tolerance*: each user has a weekly number of unwanted pushes at which they turn pushes off,
  and a higher one at which they uninstall, drawn from a survey's answers. Pushes about the
  user's interests annoy less; pushes in the user's night annoy more.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pushwise.population.contract import (
    DISABLE_PUSH,
    UNINSTALL,
    Platform,
    SeenPush,
    SimEvent,
    SimUser,
)

CATEGORIES = (
    "fashion",
    "shoes",
    "beauty",
    "electronics",
    "home",
    "sports",
    "toys",
    "books",
    "grocery",
    "garden",
)
ITEMS_PER_CATEGORY = 20

# (country, share of users, zones, locale, share of iPhones). Platform shares: StatCounter's
# mobile OS shares per country (2024), rounded.
MARKETS: tuple[tuple[str, float, tuple[str, ...], str, float], ...] = (
    ("US", 0.35, ("America/New_York", "America/Chicago", "America/Los_Angeles"), "en-US", 0.57),
    ("GB", 0.10, ("Europe/London",), "en-GB", 0.50),
    ("DE", 0.12, ("Europe/Berlin",), "de-DE", 0.35),
    ("FR", 0.08, ("Europe/Paris",), "fr-FR", 0.33),
    ("BR", 0.12, ("America/Sao_Paulo",), "pt-BR", 0.17),
    ("IN", 0.13, ("Asia/Kolkata",), "en-IN", 0.05),
    ("JP", 0.10, ("Asia/Tokyo",), "ja-JP", 0.65),
)
# China Android (issue 19): phones without Google services, by maker (Counterpoint, 2024 sales
# shares, rounded and renormalised over the five makers).
CHINA_VENDORS: tuple[tuple[str, float], ...] = (
    ("huawei", 0.28),
    ("honor", 0.14),
    ("xiaomi", 0.20),
    ("oppo", 0.19),
    ("vivo", 0.19),
)

# Opt-in to pushes: Airship benchmarks, medians (iOS 51%, Android 81%).
OPT_IN: dict[str, float] = {"ios": 0.51, "android": 0.81, "web": 0.10}
# A generic push's direct open rate, by platform (Accengage 2016: iOS 4.3%, Android 13.1%;
# Airship: iOS 3.4%, Android 4.6%; the "about 5% on iOS, 10% on Android").
OPEN_RATE: dict[str, float] = {"ios": 0.05, "android": 0.10, "web": 0.03}
CLICK_GIVEN_OPEN = 0.5  # an open that goes on to the item the push shows
DISMISS_GIVEN_UNOPENED = 0.25
# Weekly volumes of unwanted pushes at which users say they would turn pushes off, and at which
# they would stop using the app (Localytics survey of 1,000 US smartphone users, 2017):
# disable: 10% at one a week, 37% at 2-5, 33% at 6-10 (the rest: more than 10);
# stop using: 22% at 2-5, 31% at 6-10 (the rest: more than 10).
DISABLE_TOLERANCE: tuple[tuple[float, float, float], ...] = (
    (0.10, 1, 1),
    (0.37, 2, 5),
    (0.33, 6, 10),
    (0.20, 11, 30),
)
UNINSTALL_TOLERANCE: tuple[tuple[float, float, float], ...] = ((0.22, 2, 5), (0.31, 6, 10), (0.47, 11, 40))
# What users say is not all they do: per push past a user's tolerance, the chance that this
# push is the one that makes them act (ours; tuned so that a year of weekly pushes turns off
# about the share the survey gives, see docs/population.md).
DISABLE_HAZARD = 0.15
UNINSTALL_HAZARD = 0.08
NIGHT_IRRITATION = 2.0  # a push between 22:00 and 07:00 local counts double
NIGHT_OPEN_FACTOR = 0.3
RELEVANT_IRRITATION = 0.3  # a push in the user's first interest annoys a third as much
# Activity: daily chance of a session, its slow decay (a half-life of about 46 days) and what a
# push open or a purchase gives back.
ATTACHMENT_ALPHA, ATTACHMENT_BETA = 2.0, 6.0
ATTACHMENT_DECAY = 0.985
OPEN_BOOST = 0.06
PURCHASE_BOOST = 0.02
# A session: items viewed, a cart, a purchase (e-commerce session conversion about 2-3%).
CART_GIVEN_SESSION = 0.2
PURCHASE_GIVEN_CART = 0.12
PURCHASE_GIVEN_CLICK = (0.05, 0.40)  # irrelevant push, push in the user's first interest
ANNOYED_VISITS_FLOOR = 0.5  # at most half the visits (and half the buying) lost to annoyance
ORGANIC_UNINSTALL = 0.0015  # per day, whatever the pushes (ordinary churn of installs)
MEAN_ORDER_VALUE = 55.0
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class ShopModel:
    """The built-in `PopulationModel`: `size` users, or a China Android population (`china`)."""

    size: int = 1000
    china: bool = False

    def users(self, rng: random.Random) -> Sequence[SimUser]:
        return [self._user(n, rng) for n in range(self.size)]

    def _user(self, n: int, rng: random.Random) -> SimUser:
        vendor = None
        if self.china:
            country, zone, locale, platform = "CN", "Asia/Shanghai", "zh-CN", "android"
            vendor = _weighted(rng, CHINA_VENDORS)
        else:
            country, _, zones, locale, ios_share = _weighted_row(rng, MARKETS)
            zone = rng.choice(zones)
            platform = "ios" if rng.random() < ios_share else "android"
        first, second = rng.sample(CATEGORIES, 2)
        state = {
            "interests": {first: 1.0, second: 0.6},
            "attachment": rng.betavariate(ATTACHMENT_ALPHA, ATTACHMENT_BETA),
            "disable_at": _tolerance(rng, DISABLE_TOLERANCE),
            "uninstall_at": _tolerance(rng, UNINSTALL_TOLERANCE),
            "peak_hour": min(23.0, max(7.0, rng.gauss(19.0, 2.5))),
            "annoyance": [],  # (epoch seconds, units) of recent pushes
        }
        typed: Platform = "ios" if platform == "ios" else "android"
        return SimUser(
            external_id=f"shopper-{n}",
            timezone=zone,
            country=country,
            locale=locale,
            platform=typed,
            push_enabled=rng.random() < OPT_IN[platform],
            attributes={"first_interest": first},
            state=state,
            vendor=vendor,
        )

    def day(self, user: SimUser, start: datetime, rng: random.Random) -> Sequence[SimEvent]:
        state = user.state
        if state.get("uninstalled"):
            return []
        state["attachment"] *= ATTACHMENT_DECAY
        if rng.random() < ORGANIC_UNINSTALL:
            state["uninstalled"] = True
            return [SimEvent(UNINSTALL, start + timedelta(hours=rng.uniform(0, 24)))]
        weekend = start.weekday() >= 5
        # Pushes that annoy make the app less welcome: past the user's tolerance, visits fall.
        annoyed = annoyed_share(state, start.timestamp())
        if rng.random() >= state["attachment"] * (1.15 if weekend else 1.0) * (1.0 - annoyed):
            return []
        at = _local_hour(start, user.timezone, rng.gauss(state["peak_hour"], 1.5))
        return self._session(user, at, rng, None, 0.0, 1.0 - annoyed)

    def _session(
        self,
        user: SimUser,
        at: datetime,
        rng: random.Random,
        pushed: str | None,
        relevance: float,
        mood: float,
    ) -> list[SimEvent]:
        """A visit: `pushed` is the category a push brought the user to (it is viewed first);
        `mood` (0-1) scales the chance to buy (an annoyed user buys less)."""
        interests = user.state["interests"]
        events = [SimEvent("app_open", at)]
        viewed = [pushed] if pushed else []
        viewed += [_interest(rng, interests) for _ in range(rng.randint(1, 3))]
        moment = at
        for category in viewed:
            moment += timedelta(seconds=rng.uniform(20, 120))
            item = f"{category}-{rng.randrange(ITEMS_PER_CATEGORY)}"
            events.append(SimEvent("item_viewed", moment, category, properties={"item_id": item}))
        buy_chance = CART_GIVEN_SESSION * PURCHASE_GIVEN_CART * mood
        if pushed:
            low, high = PURCHASE_GIVEN_CLICK
            buy_chance = (low + (high - low) * relevance) * mood
        if rng.random() < CART_GIVEN_SESSION or (pushed and rng.random() < buy_chance):
            category = viewed[0]
            item = f"{category}-{rng.randrange(ITEMS_PER_CATEGORY)}"
            moment += timedelta(seconds=rng.uniform(30, 300))
            events.append(SimEvent("added_to_cart", moment, category, properties={"item_id": item}))
            if rng.random() < (buy_chance / CART_GIVEN_SESSION if pushed else PURCHASE_GIVEN_CART * mood):
                value = round(rng.lognormvariate(math.log(MEAN_ORDER_VALUE) - 0.18, 0.6), 2)
                moment += timedelta(seconds=rng.uniform(30, 300))
                kind = "converted" if pushed else "purchased"
                events.append(SimEvent(kind, moment, category, value, {"item_id": item}))
                user.state["attachment"] = min(1.0, user.state["attachment"] + PURCHASE_BOOST)
        return events

    def react(self, user: SimUser, push: SeenPush, rng: random.Random) -> Sequence[SimEvent]:
        state = user.state
        if state.get("uninstalled") or not user.push_enabled:
            return []
        relevance = state["interests"].get(push.category or "", 0.0)
        hour = push.at.astimezone(ZoneInfo(user.timezone)).hour
        night = hour >= 22 or hour < 7
        units = (1.0 - (1.0 - RELEVANT_IRRITATION) * relevance) * (NIGHT_IRRITATION if night else 1.0)
        now = push.at.timestamp()
        state["annoyance"] = [(t, u) for t, u in state["annoyance"] if t > now - WEEK.total_seconds()]
        state["annoyance"].append((now, units))
        weekly = _weekly(state, now)
        tiredness = max(0.2, 1.0 - weekly / 15.0)
        chance = (
            OPEN_RATE[user.platform]
            * (0.7 + 1.8 * relevance)
            * (NIGHT_OPEN_FACTOR if night else 1.0)
            * tiredness
            * (0.5 + state["attachment"])
            / 0.75
        )
        events: list[SimEvent] = []
        later = push.at + timedelta(minutes=rng.expovariate(1 / 30))
        if rng.random() < chance:
            events.append(SimEvent("opened", later, push.category))
            state["attachment"] = min(1.0, state["attachment"] + OPEN_BOOST * (0.5 + relevance))
            if rng.random() < CLICK_GIVEN_OPEN:
                events.append(SimEvent("clicked", later + timedelta(seconds=5), push.category))
                mood = 1.0 - annoyed_share(state, now)
                events += self._session(
                    user, later + timedelta(seconds=10), rng, push.category, relevance, mood
                )
        elif rng.random() < DISMISS_GIVEN_UNOPENED:
            events.append(SimEvent("dismissed", later, push.category))
        if weekly >= state["uninstall_at"] and rng.random() < UNINSTALL_HAZARD:
            state["uninstalled"] = True
            events.append(SimEvent(UNINSTALL, later + timedelta(minutes=1)))
        elif weekly >= state["disable_at"] and rng.random() < DISABLE_HAZARD:
            user.push_enabled = False
            events.append(SimEvent(DISABLE_PUSH, later + timedelta(minutes=1)))
        return events


def annoyed_share(state: dict[str, Any], now: float) -> float:
    """0-`ANNOYED_VISITS_FLOOR`: how much this week's pushes past the user's tolerance sour the app."""
    return min(ANNOYED_VISITS_FLOOR, _weekly(state, now) / (4 * float(state["disable_at"])))


def _weekly(state: dict[str, Any], now: float) -> float:
    """Annoyance units of the pushes of the last seven days."""
    return float(sum(u for t, u in state["annoyance"] if now - WEEK.total_seconds() < t <= now))


def _weighted(rng: random.Random, table: Sequence[tuple[str, float]]) -> str:
    point = rng.random() * sum(weight for _, weight in table)
    for name, weight in table:
        point -= weight
        if point < 0:
            return name
    return table[-1][0]


def _weighted_row(
    rng: random.Random, rows: Sequence[tuple[str, float, tuple[str, ...], str, float]]
) -> tuple[str, float, tuple[str, ...], str, float]:
    point = rng.random() * sum(row[1] for row in rows)
    for row in rows:
        point -= row[1]
        if point < 0:
            return row
    return rows[-1]


def _tolerance(rng: random.Random, bands: Sequence[tuple[float, float, float]]) -> float:
    """A weekly volume drawn from survey bands (share, low, high), uniformly inside its band."""
    point = rng.random()
    for share, low, high in bands:
        point -= share
        if point < 0:
            return float(rng.randint(int(low), int(high)))
    return float(bands[-1][2])


def _interest(rng: random.Random, interests: dict[str, float]) -> str:
    """A category the user browses: mostly their interests, sometimes anything."""
    if rng.random() < 0.2:
        return rng.choice(CATEGORIES)
    return _weighted(rng, list(interests.items()))


def _local_hour(start: datetime, timezone: str, hour: float) -> datetime:
    """The moment of local `hour` on the user's date that overlaps the UTC day at `start`,
    kept inside that UTC day (so a day's organic events are posted during that day)."""
    zone = ZoneInfo(timezone)
    local_midnight = datetime.combine(start.astimezone(zone).date(), datetime.min.time(), zone)
    at = (local_midnight + timedelta(hours=hour % 24)).astimezone(UTC)
    while at < start:
        at += timedelta(days=1)
    while at >= start + timedelta(days=1):
        at -= timedelta(days=1)
    return at
