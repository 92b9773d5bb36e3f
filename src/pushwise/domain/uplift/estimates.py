"""Means with 95% intervals (normal approximation), the shape every figure here is reported in."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    low: float
    high: float

    @property
    def interval(self) -> tuple[float, float]:
        return (self.low, self.high)


def around(value: float, standard_error: float, z: float = Z95) -> Estimate:
    return Estimate(value, value - z * standard_error, value + z * standard_error)


def mean_estimate(count: int, total: float, total_of_squares: float) -> Estimate | None:
    """The mean of `count` values from their sum and sum of squares (None for no values).

    Fed by SQL aggregates, so an arm of a million users costs one row. One value has
    no spread to speak of: its interval is the point itself.
    """
    if count <= 0:
        return None
    mean = total / count
    if count == 1:
        return Estimate(mean, mean, mean)
    variance = max(0.0, (total_of_squares - count * mean * mean) / (count - 1))
    return around(mean, math.sqrt(variance / count))


def mean_of(values: Sequence[float]) -> Estimate | None:
    return mean_estimate(len(values), math.fsum(values), math.fsum(v * v for v in values))
