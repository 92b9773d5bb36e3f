"""The batch decision (`uplift/loaded.py: decisions`, numpy) is the pure rule
(`domain/uplift/decision.py: decide`) user by user: same arm, same shrunk gains, same send,
for any predictions, shrinkage, cost and fall-back."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.uplift.decision import Shrinkage, decide
from pushwise.uplift.loaded import decisions

ARMS = ("mens", "womens", "sms")
gains = st.floats(-1, 1, allow_nan=False, width=64)
shrinkages = st.builds(Shrinkage, gains, gains, st.floats(0, 1))


@settings(deadline=None)  # the machine is shared: no timing in tests
@given(
    st.integers(1, 3).flatmap(
        lambda arms: st.tuples(
            st.just(ARMS[:arms]),
            st.lists(st.lists(gains, min_size=arms, max_size=arms), min_size=1, max_size=30),
            st.lists(shrinkages, min_size=arms, max_size=arms),
            st.sampled_from([None, "none", *(f"all:{arm}" for arm in ARMS[:arms])]),
        )
    ),
    st.floats(0, 1),
)
def test_the_batch_decides_as_the_rule_does(case, cost: float) -> None:
    treatments, rows, shrunk, fallback = case
    shrinkage = dict(zip(treatments, shrunk, strict=True))
    batch = decisions(np.array(rows, dtype=np.float64), treatments, shrinkage, cost, fallback)
    one_by_one = [decide(dict(zip(treatments, row, strict=True)), shrinkage, cost, fallback) for row in rows]
    assert batch == one_by_one


def test_a_fallback_that_is_not_the_models_is_refused() -> None:
    with pytest.raises(ValueError, match="not a fixed policy"):
        decisions(np.zeros((2, 1)), ("mens",), {"mens": Shrinkage(0, 0, 0)}, 0.1, "all:womens")
