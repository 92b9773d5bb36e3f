"""A second population model, written for the tests and never used to tune pushwise.

It differs from the built-in model in structure, not just numbers: users move between
life-cycle states (engaged, casual, lapsing, gone) by a daily Markov chain instead of a
decaying activity probability; tastes are points in a three-dimensional space and a push's
relevance is a similarity, not a list of favourite categories; and annoyance is a patience
budget that each push spends and each day refills, not a count over the last week set
against surveyed tolerances. Every figure here is a plain guess, on purpose.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from pushwise.population import SeenPush, SimEvent, SimUser

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
# Each category's place in a small taste space (fixed, so every run agrees).
_PLACES = {c: tuple(math.cos(i * 1.3 + k * 2.1) for k in range(3)) for i, c in enumerate(CATEGORIES)}
STATES = ("engaged", "casual", "lapsing", "gone")
# Daily transitions (to engaged, casual, lapsing, gone).
TRANSITIONS = {
    "engaged": (0.90, 0.08, 0.02, 0.0),
    "casual": (0.04, 0.88, 0.07, 0.01),
    "lapsing": (0.01, 0.05, 0.90, 0.04),
}
VISIT = {"engaged": 0.55, "casual": 0.2, "lapsing": 0.04}
ZONES = (
    ("US", "America/Denver", "en-US"),
    ("ES", "Europe/Madrid", "es-ES"),
    ("AU", "Australia/Sydney", "en-AU"),
)


class LifecycleModel:
    """Structurally different from `ShopModel` (see the module's docstring)."""

    def __init__(self, size: int = 300) -> None:
        self.size = size

    def users(self, rng: random.Random) -> Sequence[SimUser]:
        people = []
        for n in range(self.size):
            country, zone, locale = rng.choice(ZONES)
            platform = "android" if rng.random() < 0.6 else "ios"
            taste = [rng.gauss(0, 1) for _ in range(3)]
            norm = math.sqrt(sum(x * x for x in taste)) or 1.0
            people.append(
                SimUser(
                    external_id=f"life-{n}",
                    timezone=zone,
                    country=country,
                    locale=locale,
                    platform=platform,
                    push_enabled=rng.random() < (0.7 if platform == "android" else 0.45),
                    state={
                        "stage": rng.choices(STATES[:3], (0.2, 0.5, 0.3))[0],
                        "taste": [x / norm for x in taste],
                        "patience": rng.uniform(2.0, 6.0),
                        "refill": rng.uniform(0.3, 0.8),
                    },
                )
            )
        return people

    def _similarity(self, user: SimUser, category: str | None) -> float:
        place = _PLACES.get(category or "", (0.0, 0.0, 0.0))
        norm = math.sqrt(sum(x * x for x in place)) or 1.0
        return max(0.0, sum(a * b for a, b in zip(user.state["taste"], place, strict=True)) / norm)

    def _favourite(self, user: SimUser, rng: random.Random) -> str:
        weights = [0.05 + self._similarity(user, c) ** 2 for c in CATEGORIES]
        return rng.choices(CATEGORIES, weights)[0]

    def day(self, user: SimUser, start: datetime, rng: random.Random) -> Sequence[SimEvent]:
        state = user.state
        state["patience"] = min(6.0, state["patience"] + state["refill"])
        if state["stage"] == "gone":
            return []
        state["stage"] = rng.choices(STATES, TRANSITIONS[state["stage"]])[0]
        if state["stage"] == "gone":
            return [SimEvent("uninstall", start + timedelta(hours=rng.uniform(0, 23)))]
        if rng.random() >= VISIT[state["stage"]]:
            return []
        at = start + timedelta(hours=rng.uniform(0, 23))
        category = self._favourite(user, rng)
        events = [
            SimEvent("app_open", at),
            SimEvent(
                "item_viewed",
                at + timedelta(minutes=1),
                category,
                properties={"item_id": f"{category}-{rng.randrange(20)}"},
            ),
        ]
        if rng.random() < 0.04:
            events.append(
                SimEvent("purchased", at + timedelta(minutes=5), category, round(rng.uniform(15, 150), 2))
            )
        return events

    def react(self, user: SimUser, push: SeenPush, rng: random.Random) -> Sequence[SimEvent]:
        state = user.state
        if state["stage"] == "gone" or not user.push_enabled:
            return []
        assert push.at.tzinfo is not None  # the contract: aware datetimes
        fit = self._similarity(user, push.category)
        state["patience"] -= 1.2 - fit
        later = push.at + timedelta(minutes=rng.uniform(1, 90))
        events: list[SimEvent] = []
        if rng.random() < 0.03 + 0.15 * fit:
            events.append(SimEvent("opened", later, push.category))
            if state["stage"] != "engaged" and rng.random() < 0.3:
                state["stage"] = "engaged" if rng.random() < 0.3 else "casual"
            if rng.random() < 0.6:
                events.append(SimEvent("clicked", later, push.category))
                if rng.random() < 0.02 + 0.1 * fit:
                    events.append(SimEvent("converted", later + timedelta(minutes=3), push.category, 40.0))
        if state["patience"] < 0 and rng.random() < 0.25:
            user.push_enabled = False
            events.append(SimEvent("disable_push", later))
            if state["stage"] == "lapsing" and rng.random() < 0.5:
                state["stage"] = "gone"
                events.append(SimEvent("uninstall", later + timedelta(minutes=1)))
        return events


def factory() -> LifecycleModel:
    """What `--model tests.population_models:factory` calls."""
    return LifecycleModel()


def small() -> LifecycleModel:
    return LifecycleModel(40)
