"""Out-of-sample ranking quality: Qini and uplift curves, their normalised areas, and deciles.

Rows are (score, treated, outcome) for one treatment arm against the control; scores
are cross-fitted predictions, never made by a model that saw the row. Definitions
follow scikit-uplift (`qini_auc_score`, `uplift_auc_score`), so figures compare with
the published ones: after the top k rows by score,

    qini(k)   = Y_t(k) - Y_c(k) * N_t(k) / N_c(k)
    uplift(k) = (Y_t(k) / N_t(k) - Y_c(k) / N_c(k)) * k

(Y sums of outcomes, N counts, of treated and control rows among the top k). The
coefficient is the area between the model's curve and the random line, divided by the
same area for the perfect ranking (treated responders first, control responders last):
0 is random, 1 perfect, negative worse than random.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScoredRow:
    score: float
    treated: bool
    outcome: float


@dataclass(frozen=True, slots=True)
class Decile:
    decile: int  # 1 = the tenth the model rates highest
    rows: int
    predicted: float  # mean predicted uplift
    treated_mean: float | None
    control_mean: float | None

    @property
    def observed(self) -> float | None:
        if self.treated_mean is None or self.control_mean is None:
            return None
        return self.treated_mean - self.control_mean


def _curve(rows: Sequence[ScoredRow], kind: str) -> list[tuple[int, float]]:
    """Points (k, curve(k)) at every k where the score changes (ties form one step), from (0, 0)."""
    ordered = sorted(rows, key=lambda row: -row.score)
    points = [(0, 0.0)]
    y_t = y_c = 0.0
    n_t = n_c = 0
    for index, row in enumerate(ordered):
        if row.treated:
            y_t += row.outcome
            n_t += 1
        else:
            y_c += row.outcome
            n_c += 1
        if index + 1 < len(ordered) and ordered[index + 1].score == row.score:
            continue
        k = index + 1
        if kind == "qini":
            point = y_t - (y_c * n_t / n_c if n_c else 0.0)
        else:
            point = ((y_t / n_t if n_t else 0.0) - (y_c / n_c if n_c else 0.0)) * k
        points.append((k, point))
    return points


def _area(points: Sequence[tuple[int, float]]) -> float:
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(points))


def _perfect(rows: Sequence[ScoredRow]) -> list[ScoredRow]:
    return [ScoredRow(row.outcome * (1 if row.treated else -1), row.treated, row.outcome) for row in rows]


def normalised_area(rows: Sequence[ScoredRow], kind: str) -> float:
    """The Qini (`kind="qini"`) or uplift (`"uplift"`) coefficient; 0 when nothing can be ranked."""
    if not rows:
        return 0.0
    model = _curve(rows, kind)
    end = model[-1]
    random_area = end[0] * end[1] / 2
    ideal = _area(_curve(_perfect(rows), kind)) - random_area
    if ideal == 0.0:
        return 0.0
    return (_area(model) - random_area) / ideal


def qini_curve(rows: Sequence[ScoredRow], points: int = 50) -> list[tuple[float, float]]:
    """The Qini curve thinned to about `points` points, as (share of users, incremental outcome per user)."""
    curve = _curve(rows, "qini")
    n = max(1, len(rows))
    step = max(1, len(curve) // points)
    thinned = curve[::step] if curve[-1] in curve[::step] else [*curve[::step], curve[-1]]
    return [(k / n, value / n) for k, value in thinned]


def deciles(rows: Sequence[ScoredRow], groups: int = 10) -> list[Decile]:
    ordered = sorted(rows, key=lambda row: -row.score)
    n = len(ordered)
    out = []
    for group in range(groups):
        part = ordered[group * n // groups : (group + 1) * n // groups]
        treated = [row.outcome for row in part if row.treated]
        control = [row.outcome for row in part if not row.treated]
        out.append(
            Decile(
                group + 1,
                len(part),
                sum(row.score for row in part) / len(part) if part else 0.0,
                sum(treated) / len(treated) if treated else None,
                sum(control) / len(control) if control else None,
            )
        )
    return out
