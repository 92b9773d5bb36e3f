"""Exponential time decay, kept lazily.

A decayed quantity is stored as a value and the time it refers to; its worth at
`now` is `value * 2^(-(now - at) / half_life)`. Adding an observation made at `t`
moves the reference to the later of the two times, so the result is the same sum
of decayed contributions whatever order observations arrive in, and nothing ever
has to rescan history. SQL does the same arithmetic (`store/` uses `exp`), so
concurrent writers never read-modify-write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LN2 = math.log(2.0)
# Below this exponent (about 430 half-lives, a factor under 1e-130) nothing is left: 0, exactly.
# PostgreSQL raises an underflow error where C returns a tiny number or 0 (`exp(-746)`, or a
# weight times a factor too small to represent), so SQL stops here too, well clear of both.
UNDERFLOW_EXPONENT = -300.0


def decay_factor(elapsed: float, half_life: float) -> float:
    """How much of a value is left after `elapsed` seconds (1 for no time or time running back).

    Spelled as the segment SQL spells it (`store/segment_sql.py`), so both give the same bits.
    """
    if elapsed <= 0.0:
        return 1.0
    exponent = -LN2 * elapsed / half_life
    return 0.0 if exponent < UNDERFLOW_EXPONENT else math.exp(exponent)


@dataclass(frozen=True, slots=True)
class Decayed:
    value: float
    at: float

    def worth(self, now: float, half_life: float) -> float:
        """The value at `now`; a reference time after `now` (a late clock) counts as now."""
        return self.value * decay_factor(now - self.at, half_life)

    def plus(self, amount: float, at: float, half_life: float) -> Decayed:
        """Add `amount` observed at `at`, referring the sum to the later of the two times."""
        if at >= self.at:
            return Decayed(self.value * decay_factor(at - self.at, half_life) + amount, at)
        return Decayed(self.value + amount * decay_factor(self.at - at, half_life), self.at)
