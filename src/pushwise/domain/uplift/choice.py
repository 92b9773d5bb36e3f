"""Personalise, or follow the best fixed policy: decided on cross-fitted validation rows.

Given each validation row's shrunk uplift per arm (predicted by a model that never saw
the row), the personalised policy at a cost is `decision.personalised` row by row.
It is kept only when it beats the best fixed policy (one arm to everybody, or nobody)
with confidence: the 95% interval of the paired difference in value lies above zero.
Otherwise the model falls back to that fixed policy, so its policy is never worse in
validation than the best fixed one, and a model that learned nothing says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pushwise.domain.uplift.decision import chosen_arm, personalised
from pushwise.domain.uplift.estimates import Estimate
from pushwise.domain.uplift.policy import LoggedRow, PolicyValue, difference, fixed_policies, value


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    cost: float
    fallback: str | None  # the fixed policy followed, or None: personalised
    personalised: PolicyValue
    fixed: Mapping[str, PolicyValue]  # "all:<arm>" | "none" -> value
    best_fixed: str
    gain: Estimate  # personalised minus the best fixed policy, paired

    @property
    def chosen(self) -> PolicyValue:
        return self.personalised if self.fallback is None else self.fixed[self.fallback]


def choose(
    rows: Sequence[LoggedRow],
    uplift: Sequence[Mapping[str, float]],
    arms: Sequence[str],
    control: str,
    cost: float,
) -> PolicyChoice:
    """`uplift[i]`: row i's shrunk gain per treatment arm; `arms`: every arm, the control among them."""
    choices = [chosen_arm(personalised(gains, cost), control) for gains in uplift]
    mine = value(rows, choices, control, cost)
    fixed = {
        name: value(rows, [arm] * len(rows), control, cost)
        for name, arm in fixed_policies(arms, control).items()
    }
    best = max(fixed, key=lambda name: (fixed[name].estimate.value, name == "none"))
    gain = difference(mine, fixed[best])
    fallback = None if gain.low > 0 else best
    return PolicyChoice(cost, fallback, mine, fixed, best, gain)
