"""Training: cross-fitted validation, shrinkage, the policy choice, and the final fit.

1. The rows are split into `folds` folds, stratified by arm, with the model's seed.
   Each fold's uplift is predicted by a learner fitted on the other folds: every row
   gets a prediction from a model that never saw it.
2. Per arm, those out-of-fold predictions are calibrated against the arm's
   inverse-propensity pseudo-outcomes (`domain/uplift/decision.py`: the shrinkage).
3. Qini, AUUC and uplift by decile are read from the out-of-fold predictions, and
   the policy at the model's cost is chosen on them (`domain/uplift/choice.py`).
4. The learner is fitted once more on every row: the model that scores.

Everything is seeded; the same rows and request train the same model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pushwise.domain.uplift.choice import PolicyChoice, choose
from pushwise.domain.uplift.decision import Shrinkage
from pushwise.domain.uplift.policy import LoggedRow, PolicyValue
from pushwise.domain.uplift.validation import ScoredRow, deciles, normalised_area, qini_curve
from pushwise.store.uplift_data import TrainingRows
from pushwise.uplift.encoding import FeatureSchema, Matrix, Value
from pushwise.uplift.learner import DEFAULT_LEARNER, ArmIndex, UpliftLearner, Vector, new_learner

FOLDS = 5
MIN_ROWS_PER_ARM = 20
LEARNER = DEFAULT_LEARNER


class TrainingRefused(ValueError):
    """The data cannot train a model (an arm without rows, too few rows); the model fails with this."""


@dataclass(frozen=True, slots=True)
class TrainingSet:
    arms: tuple[str, ...]  # the control first
    features: Sequence[Mapping[str, Value]]
    arm: ArmIndex
    outcome: Vector
    propensity: Vector
    binary: bool

    @property
    def control(self) -> str:
        return self.arms[0]


@dataclass(frozen=True, slots=True)
class Trained:
    summary: dict[str, Any]  # JSON: arms, rows, features, rule, validation
    learner: UpliftLearner
    validation_uplift: Matrix  # shrunk out-of-fold uplift per row and treatment arm
    logged: list[LoggedRow]


def _folds(arm: ArmIndex, folds: int, seed: int) -> ArmIndex:
    rng = np.random.default_rng(seed)
    fold = np.empty(arm.shape[0], dtype=np.int64)
    for index in np.unique(arm):
        members = np.flatnonzero(arm == index)
        fold[rng.permutation(members)] = np.arange(members.size) % folds
    return fold


def _shrinkage(data: TrainingSet, predicted: Vector, arm: int) -> Shrinkage:
    """Average effect (weighted difference in means), centre, and calibration slope clipped to [0, 1]."""
    y, p, t = data.outcome, data.propensity, data.arm
    treated, control = t == arm, t == 0
    average = float(
        np.sum(y[treated] / p[treated]) / np.sum(1 / p[treated])
        - np.sum(y[control] / p[control]) / np.sum(1 / p[control])
    )
    pseudo = np.where(treated, y / p, 0.0) - np.where(control, y / p, 0.0)
    spread = float(np.var(predicted))
    slope = float(np.cov(pseudo, predicted, bias=True)[0, 1] / spread) if spread > 0 else 0.0
    return Shrinkage(average, float(np.mean(predicted)), min(1.0, max(0.0, slope)))


def _arm_validation(data: TrainingSet, predicted: Vector, arm: int) -> dict[str, Any]:
    keep = (data.arm == arm) | (data.arm == 0)
    rows = [
        ScoredRow(float(score), bool(index == arm), float(outcome))
        for score, index, outcome in zip(predicted[keep], data.arm[keep], data.outcome[keep], strict=True)
    ]
    return {
        "qini": normalised_area(rows, "qini"),
        "auuc": normalised_area(rows, "uplift"),
        "uplift_by_decile": [
            {
                "decile": d.decile,
                "rows": d.rows,
                "predicted": d.predicted,
                "observed": d.observed,
                "treated_mean": d.treated_mean,
                "control_mean": d.control_mean,
            }
            for d in deciles(rows)
        ],
        "qini_curve": [[share, gain] for share, gain in qini_curve(rows)],
    }


def policy_json(value: PolicyValue) -> dict[str, Any]:
    estimate = value.estimate
    return {
        "value": estimate.value,
        "ci": [estimate.low, estimate.high],
        "send_fraction": value.send_fraction,
    }


def choice_json(choice: PolicyChoice) -> dict[str, Any]:
    """The `policy` and `baselines` of the contract's `validation`, with what decided between them."""
    return {
        "policy": policy_json(choice.chosen),
        "baselines": {name: value.estimate.value for name, value in choice.fixed.items()},
        "baseline_details": {name: policy_json(value) for name, value in choice.fixed.items()},
        "personalised": policy_json(choice.personalised),
        "fallback": choice.fallback,
        "best_fixed": choice.best_fixed,
        "gain_over_best_fixed": {"value": choice.gain.value, "ci": [choice.gain.low, choice.gain.high]},
        "cost_per_send": choice.cost,
    }


def train(data: TrainingSet, cost: float, seed: int, folds: int = FOLDS) -> Trained:
    counts = np.bincount(data.arm, minlength=len(data.arms))
    thin = [arm for arm, n in zip(data.arms, counts, strict=True) if n < MIN_ROWS_PER_ARM]
    if thin:
        raise TrainingRefused(
            f"arms with fewer than {MIN_ROWS_PER_ARM} users whose window has ended: {', '.join(thin)}"
        )
    schema = FeatureSchema.learn(data.features)
    x = schema.matrix(data.features)
    fold = _folds(data.arm, folds, seed)
    out_of_fold = np.zeros((x.shape[0], len(data.arms) - 1))
    for k in range(folds):
        rows = fold != k
        learner = new_learner(LEARNER, len(data.arms), schema.categorical_mask, binary=data.binary, seed=seed)
        learner.fit(x[rows], data.arm[rows], data.outcome[rows], data.propensity[rows])
        out_of_fold[fold == k] = learner.uplift(x[fold == k])
    treatments = data.arms[1:]
    shrinkage = {arm: _shrinkage(data, out_of_fold[:, i], i + 1) for i, arm in enumerate(treatments)}
    shrunk = np.column_stack(
        [
            shrinkage[arm].average + shrinkage[arm].factor * (out_of_fold[:, i] - shrinkage[arm].centre)
            for i, arm in enumerate(treatments)
        ]
    )
    logged = [
        LoggedRow(data.arms[index], float(p), float(y))
        for index, p, y in zip(data.arm, data.propensity, data.outcome, strict=True)
    ]
    choice = choose(logged, uplift_rows(shrunk, treatments), data.arms, data.control, cost)
    by_arm = {arm: _arm_validation(data, out_of_fold[:, i], i + 1) for i, arm in enumerate(treatments)}
    headline = max(treatments, key=lambda arm: shrinkage[arm].average)
    final = new_learner(LEARNER, len(data.arms), schema.categorical_mask, binary=data.binary, seed=seed)
    final.fit(x, data.arm, data.outcome, data.propensity)
    summary = {
        "learner": LEARNER,
        "seed": seed,
        "arms": list(data.arms),
        "control": data.control,
        "rows": {arm: int(n) for arm, n in zip(data.arms, counts, strict=True)},
        "binary": data.binary,
        "features": schema.to_json(),
        "shrinkage": {
            arm: {"average": s.average, "centre": s.centre, "factor": s.factor}
            for arm, s in shrinkage.items()
        },
        "validation": {
            "folds": folds,
            "headline_arm": headline,
            "qini": by_arm[headline]["qini"],
            "auuc": by_arm[headline]["auuc"],
            "uplift_by_decile": by_arm[headline]["uplift_by_decile"],
            "by_arm": by_arm,
            **choice_json(choice),
        },
    }
    return Trained(summary, final, shrunk, logged)


def uplift_rows(shrunk: Matrix, treatments: Sequence[str]) -> list[dict[str, float]]:
    return [dict(zip(treatments, (float(v) for v in row), strict=True)) for row in shrunk]


def train_rows(rows: TrainingRows, *, binary: bool, cost: float, seed: int) -> Trained:
    if not rows.arm:
        raise TrainingRefused("no assignments whose outcome window has ended: nothing to learn from yet")
    index = {arm: i for i, arm in enumerate(rows.arms)}
    data = TrainingSet(
        rows.arms,
        rows.features,
        np.array([index[arm] for arm in rows.arm], dtype=np.int64),
        np.array(rows.outcome, dtype=np.float64),
        np.array(rows.propensity, dtype=np.float64),
        binary,
    )
    return train(data, cost, seed)
