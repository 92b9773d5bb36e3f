"""Adaptive fatigue: each user's budget follows what they do with their pushes.

The model (docs/gate.md gives the defaults and their sources):

- Fatigue is a decayed sum over the notifications the user got: each adds 1, or
  `ignored_weight` when it is of a category the user ignores, and halves every
  `half_life_hours`. A category is ignored when the user said `not_interested` in it,
  or got at least `ignore_after` of its notifications in the ledger and opened or
  clicked none.
- The budget is `budget`, scaled by the user's open propensity (`audience/learning.py`):
  a user who opens at least as often as the prior rate keeps it all, one who never
  opens keeps `propensity_floor` of it; and halved (`too_many_factor`) at once for every
  `too_many` the user sent, that feedback itself decaying over `too_many_half_life_days`.
- A push fits while fatigue now plus its own weight stays within the budget; otherwise
  it waits until fatigue has decayed enough, which the half-life makes exact.
"""

from __future__ import annotations

import math

from pushwise.domain.audience.decay import decay_factor
from pushwise.domain.audience.learning import PRIOR_OPEN_RATE
from pushwise.domain.gate.caps import NOT_COUNTED, OFF, first_sends, held
from pushwise.domain.gate.model import Defer, GateDelivery, Passed, Suppress, UserState
from pushwise.domain.gate.policy import DAY, HOUR, FatigueModel, GatePolicy


def ignored_categories(user: UserState, model: FatigueModel) -> set[str]:
    seen: dict[str, int] = {}
    engaged: set[str] = set()
    for push in first_sends(user.sent, "").values():
        if push.category is None:
            continue
        seen[push.category] = seen.get(push.category, 0) + 1
        if push.notification_id in user.engaged:
            engaged.add(push.category)
    ignored = {
        category for category, n in seen.items() if n >= model.ignore_after and category not in engaged
    }
    return ignored | set(user.not_interested)


def weight_of(category: str | None, ignored: set[str], model: FatigueModel) -> float:
    return model.ignored_weight if category is not None and category in ignored else 1.0


def fatigue_level(user: UserState, model: FatigueModel, now: float, exclude: str = "") -> float:
    ignored = ignored_categories(user, model)
    half_life = model.half_life_hours * HOUR
    return sum(
        weight_of(push.category, ignored, model) * decay_factor(now - push.at, half_life)
        for push in first_sends(user.sent, exclude).values()
    )


def budget_of(user: UserState, model: FatigueModel, now: float) -> float:
    propensity = min(1.0, user.open_propensity / PRIOR_OPEN_RATE)
    scale = model.propensity_floor + (1.0 - model.propensity_floor) * propensity
    complaints = sum(decay_factor(now - at, model.too_many_half_life_days * DAY) for at in user.too_many)
    return model.budget * min(1.0, scale) * model.too_many_factor**complaints


def fatigue_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Defer | Suppress | Passed:
    model = policy.fatigue
    if model is None:
        return OFF
    if delivery.transactional:
        return NOT_COUNTED
    if user.counts_notification(delivery.notice.id):
        return Passed("this notification already counts")
    level = fatigue_level(user, model, now, exclude=delivery.notice.id)
    weight = weight_of(delivery.category, ignored_categories(user, model), model)
    budget = budget_of(user, model, now)
    if level + weight <= budget:
        return Passed("fatigue {:.2f} + {:g} within budget {:.2f}", level, weight, budget)
    half_life = model.half_life_hours * HOUR
    if weight >= budget:  # nothing fits now: look again after a half-life
        return held(delivery, now + half_life, "fatigue")
    # A second past the exact moment, so rounding never finds it a hair over the budget then.
    wait = math.ceil(half_life * math.log2(level / (budget - weight))) + 1
    return held(delivery, now + wait, "fatigue")
