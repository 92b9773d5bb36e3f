"""Qini and uplift coefficients: 1 for the perfect ranking, about 0 for a random one, negative reversed."""

from __future__ import annotations

import random

import pytest

from pushwise.domain.uplift.validation import ScoredRow, deciles, normalised_area, qini_curve


def _population(seed: int, n: int = 4000) -> list[tuple[float, bool, float]]:
    """(true uplift, treated, outcome): half the users respond to treatment."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        uplift = rng.choice((0.0, 0.5))
        treated = rng.random() < 0.5
        out.append((uplift, treated, float(rng.random() < 0.1 + (uplift if treated else 0.0))))
    return out


@pytest.mark.parametrize("kind", ["qini", "uplift"])
def test_rankings_by_true_uplift_score_high_random_near_zero_reversed_negative(kind) -> None:
    people = _population(1)
    rng = random.Random(2)
    true = [ScoredRow(u, t, y) for u, t, y in people]
    shuffled = [ScoredRow(rng.random(), t, y) for _u, t, y in people]
    reversed_ = [ScoredRow(-u, t, y) for u, t, y in people]
    assert normalised_area(true, kind) > 0.3
    assert abs(normalised_area(shuffled, kind)) < 0.1
    assert normalised_area(reversed_, kind) < -0.3
    perfect = [ScoredRow(y * (1 if t else -1), t, y) for _u, t, y in people]
    assert normalised_area(perfect, kind) == pytest.approx(1.0)


def test_the_qini_curve_and_deciles_follow_the_ranking() -> None:
    people = _population(3)
    rows = [ScoredRow(u, t, y) for u, t, y in people]
    curve = qini_curve(rows, points=20)
    assert curve[0] == (0.0, 0.0)
    assert curve[-1][0] == 1.0
    tenths = deciles(rows)
    assert [d.decile for d in tenths] == list(range(1, 11))
    assert sum(d.rows for d in tenths) == len(rows)
    assert tenths[0].observed is not None
    assert tenths[-1].observed is not None
    assert tenths[0].observed > tenths[-1].observed + 0.2
    assert normalised_area([], "qini") == 0.0
