"""What a targeting policy is worth, estimated from randomised data by inverse propensity.

A logged row is one user of an experiment: the arm chance gave them, the probability
of that arm (their experiment's share of it), and their outcome. A policy names an arm
for every row (the control arm means "send nothing"). Its value per user is estimated
with the self-normalised (Hajek) inverse-propensity estimator over the rows where the
policy agrees with chance,

    V = sum(w_i * r_i) / sum(w_i),  w_i = 1{policy(i) = arm_i} / p_i,  r_i = y_i - cost * sent_i,

and its 95% interval from the estimator's influence terms (delta method). Two policies
evaluated on the same rows are compared by the interval of their difference, which is
far narrower than either interval alone because the policies agree on most rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pushwise.domain.uplift.estimates import Z95, Estimate, around

NONE = "none"
ALL_PREFIX = "all:"


@dataclass(frozen=True, slots=True)
class LoggedRow:
    arm: str
    propensity: float  # the probability that chance gave this user this arm
    outcome: float


@dataclass(frozen=True, slots=True)
class PolicyValue:
    estimate: Estimate
    send_fraction: float  # share of users the policy sends something to
    influence: tuple[float, ...]  # per-row influence terms, for paired comparisons


def fixed_policies(arms: Sequence[str], control: str) -> dict[str, str]:
    """The policies that need no model: each arm to everybody (`all:<arm>`), or nobody (`none`)."""
    fixed = {f"{ALL_PREFIX}{arm}": arm for arm in arms if arm != control}
    fixed[NONE] = control
    return fixed


def value(rows: Sequence[LoggedRow], chosen: Sequence[str], control: str, cost: float) -> PolicyValue:
    """The value per user of giving row i the arm `chosen[i]`, net of `cost` per send."""
    if len(rows) != len(chosen):
        raise ValueError("one chosen arm per row")
    n = len(rows)
    if n == 0:
        raise ValueError("no rows to evaluate a policy on")
    weights = [
        (1.0 / row.propensity if arm == row.arm else 0.0) for row, arm in zip(rows, chosen, strict=True)
    ]
    rewards = [row.outcome - (cost if row.arm != control else 0.0) for row in rows]
    weight_sum = math.fsum(weights)
    sent = sum(1 for arm in chosen if arm != control) / n
    if weight_sum == 0.0:  # the policy agrees with chance nowhere: nothing is known of it
        return PolicyValue(Estimate(math.nan, -math.inf, math.inf), sent, (0.0,) * n)
    mean_weight = weight_sum / n
    estimate = math.fsum(w * r for w, r in zip(weights, rewards, strict=True)) / weight_sum
    influence = tuple(w * (r - estimate) / mean_weight for w, r in zip(weights, rewards, strict=True))
    return PolicyValue(_centred(estimate, influence), sent, influence)


def difference(first: PolicyValue, second: PolicyValue) -> Estimate:
    """`first - second`, with the interval of the paired difference (same rows)."""
    terms = [a - b for a, b in zip(first.influence, second.influence, strict=True)]
    return _centred(first.estimate.value - second.estimate.value, tuple(terms))


def _centred(point: float, influence: Sequence[float]) -> Estimate:
    n = len(influence)
    if n < 2:
        return Estimate(point, point, point)
    mean = math.fsum(influence) / n
    variance = math.fsum((term - mean) ** 2 for term in influence) / (n - 1)
    return around(point, math.sqrt(variance / n), Z95)
