"""Interests: how much a user cares for a category, learned from events and decayed.

The stored raw weight is a decayed sum of event weights (see `decay.py`). What the
API shows and segments compare is its *affinity*, `1 - 2^(-w / scale)` for w >= 0
(and the mirror image below 0): 0 for no signal, approaching 1 as evidence piles up,
negative for categories the user pushed away. The map is monotonic, so a segment
threshold on affinity turns into a threshold on the raw weight (`raw_for_affinity`)
and SQL never needs more than the decay itself.
"""

from __future__ import annotations

import math

# Raw weight at which affinity reaches one half: about one add-to-cart and a view.
DEFAULT_AFFINITY_SCALE = 4.0


def affinity(raw: float, scale: float = DEFAULT_AFFINITY_SCALE) -> float:
    if raw >= 0.0:
        return 1.0 - math.pow(2.0, -raw / scale)
    return math.pow(2.0, raw / scale) - 1.0


def raw_for_affinity(value: float, scale: float = DEFAULT_AFFINITY_SCALE) -> float:
    """The raw weight whose affinity is `value` (-1 < value < 1); the inverse of `affinity`."""
    if not -1.0 < value < 1.0:
        raise ValueError("an affinity lies strictly between -1 and 1")
    if value >= 0.0:
        return -scale * math.log2(1.0 - value)
    return scale * math.log2(1.0 + value)
