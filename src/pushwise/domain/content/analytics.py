"""What worked: rates per variant with intervals, and each variant's uplift over the holdout.

Rates use Wilson's score interval (honest at small counts and near 0 or 1, where the
normal approximation claims intervals below zero); a variant's uplift over the
holdout is the difference of two rates, with the normal (Wald) interval of a
difference of independent proportions and the two-sided p-value of the pooled
two-proportion z-test, the textbook test of an A/B experiment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pushwise.domain.uplift.estimates import Z95, Estimate, around


def wilson(successes: int, trials: int, z: float = Z95) -> Estimate:
    """The share `successes / trials` with its 95% Wilson interval; (0, 0, 1) without trials."""
    if trials <= 0:
        return Estimate(0.0, 0.0, 1.0)
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return Estimate(share, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class Difference:
    value: float
    low: float
    high: float
    p_value: float


def difference(successes: int, trials: int, base_successes: int, base_trials: int) -> Difference | None:
    """Rate minus base rate, its 95% interval and the two-sided p-value; None without data on a side."""
    if trials <= 0 or base_trials <= 0:
        return None
    rate, base = successes / trials, base_successes / base_trials
    spread = math.sqrt(rate * (1 - rate) / trials + base * (1 - base) / base_trials)
    estimate = around(rate - base, spread)
    pooled = (successes + base_successes) / (trials + base_trials)
    pooled_spread = math.sqrt(pooled * (1 - pooled) * (1 / trials + 1 / base_trials))
    if pooled_spread == 0:
        p_value = 1.0 if rate == base else 0.0
    else:
        p_value = math.erfc(abs(rate - base) / pooled_spread / math.sqrt(2))
    return Difference(estimate.value, estimate.low, estimate.high, p_value)
