"""The learners behind uplift models: a small fit/uplift interface, a T-learner and a DR-learner.

A T-learner fits one outcome model per arm (the control included) and reads each
arm's uplift as the difference of their predictions. It is simple, but where the
effect is small beside the outcome's own variation (a few points of visit rate on a
base that varies with every attribute) the difference of two separately fitted
models is mostly the noise of each: on the Hillstrom data its cross-fitted ranking of
the men's e-mail was no better than chance and its policy did not beat sending the
men's e-mail to everybody.

The DR-learner (Kennedy, "Towards optimal doubly robust estimation of heterogeneous
causal effects", 2023) models the effect itself: outcome models per arm (a T-learner,
cross-fitted so no row is judged by a model that saw it) turn each row into a
doubly robust pseudo-outcome,

    phi_a(x) = mu_a(x) - mu_0(x) + 1{arm = a} (y - mu_a(x)) / p - 1{arm = 0} (y - mu_0(x)) / p,

whose expectation given x is the arm's uplift whatever the outcome models' errors
(the propensities p are known: the data is randomised), and one regression per
treatment arm of phi_a on the features is the uplift model. It is the default.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from pushwise.uplift.encoding import Matrix

Vector = npt.NDArray[np.float64]
ArmIndex = npt.NDArray[np.int64]


class UpliftLearner(Protocol):
    models: list[Any]  # fitted estimators (None where a constant stands in)
    constants: list[float]

    def fit(self, x: Matrix, arm: ArmIndex, y: Vector, propensity: Vector) -> None: ...

    def uplift(self, x: Matrix) -> Matrix:
        """Expected gain over the control per row (rows) and treatment arm (columns, in arm order)."""
        ...


# Gradient boosting runs on one OpenMP thread. On a shared or busy machine its default
# (a thread per core, spinning at every split) was measured here 20x slower than one
# thread, and it would take the cores the API and the workers need. OpenMP keeps the
# limit per calling thread, so it is set once in each thread that fits or predicts:
# setting it around every call cost a millisecond per call.
THREADS = 1
_this_thread = threading.local()


def _one_thread() -> None:
    if not getattr(_this_thread, "limited", False):
        threadpool_limits(THREADS, user_api="openmp")
        _this_thread.limited = True


class _Learner:
    """What every learner is made of: its shape, its seed, and what it fitted (`artifact.py`)."""

    def __init__(self, arms: int, categorical: Sequence[bool], *, binary: bool, seed: int) -> None:
        self.arms = arms
        self.categorical = list(categorical)
        self.binary = binary
        self.seed = seed
        self.models: list[Any] = []
        self.constants: list[float] = []


class TLearner(_Learner):
    """One histogram gradient boosting model per arm; an arm whose outcome never varies is a constant.

    Fixed iterations and no subsampling or early stopping: the fit depends on the data
    and the seed alone, so the same request trains the same model.
    """

    def _estimator(self, rows: int) -> Any:
        options = _options(rows, self.categorical, self.seed)
        if self.binary:
            return HistGradientBoostingClassifier(**options)
        return HistGradientBoostingRegressor(**options)

    def fit(self, x: Matrix, arm: ArmIndex, y: Vector, propensity: Vector | None = None) -> None:
        _one_thread()
        self.models, self.constants = [], []
        for index in range(self.arms):
            mask = arm == index
            outcomes = y[mask]
            constant = float(outcomes.mean()) if outcomes.size else 0.0
            if outcomes.size < 2 or np.all(outcomes == outcomes[0]):
                self.models.append(None)
            else:
                model = self._estimator(int(outcomes.size))
                model.fit(x[mask], (outcomes > 0).astype(np.int64) if self.binary else outcomes)
                self.models.append(model)
            self.constants.append(constant)

    def predict(self, x: Matrix) -> Matrix:
        _one_thread()
        out = np.empty((x.shape[0], self.arms), dtype=np.float64)
        for index, model in enumerate(self.models):
            if model is None:
                out[:, index] = self.constants[index]
            elif self.binary:
                out[:, index] = model.predict_proba(x)[:, 1]
            else:
                out[:, index] = model.predict(x)
        return out

    def uplift(self, x: Matrix) -> Matrix:
        predicted = self.predict(x)
        return predicted[:, 1:] - predicted[:, [0]]


def _options(rows: int, categorical: Sequence[bool], seed: int) -> dict[str, Any]:
    """Gradient boosting kept small and smooth: effects are small, and data is often thin."""
    return {
        "max_iter": 50,
        "learning_rate": 0.05,
        "max_leaf_nodes": 8,
        "min_samples_leaf": int(min(500, max(20, rows // 20))),
        "l2_regularization": 10.0,
        "early_stopping": False,
        "categorical_features": list(categorical),
        "random_state": seed,
    }


NUISANCE_FOLDS = 2


class DRLearner(_Learner):
    """Per treatment arm, a regression of the doubly robust pseudo-outcome (module docstring).

    `models[i]` is treatment arm i+1's effect model, or None where the pseudo-outcome
    never varies (`constants[i]` then). Seeded: the nuisance folds and the boosting.
    """

    def _outcomes(self, x: Matrix, arm: ArmIndex, y: Vector) -> Matrix:
        """Each row's expected outcome per arm, from outcome models fitted on the other folds."""
        rng = np.random.default_rng(self.seed)
        fold = np.empty(arm.shape[0], dtype=np.int64)
        for index in np.unique(arm):
            members = np.flatnonzero(arm == index)
            fold[rng.permutation(members)] = np.arange(members.size) % NUISANCE_FOLDS
        out = np.empty((x.shape[0], self.arms), dtype=np.float64)
        for k in range(NUISANCE_FOLDS):
            outcome = TLearner(self.arms, self.categorical, binary=self.binary, seed=self.seed)
            outcome.fit(x[fold != k], arm[fold != k], y[fold != k])
            out[fold == k] = outcome.predict(x[fold == k])
        return out

    def fit(self, x: Matrix, arm: ArmIndex, y: Vector, propensity: Vector) -> None:
        _one_thread()
        mu = self._outcomes(x, arm, y)
        control = arm == 0
        self.models, self.constants = [], []
        for index in range(1, self.arms):
            treated = arm == index
            pseudo = (
                mu[:, index]
                - mu[:, 0]
                + np.where(treated, (y - mu[:, index]) / propensity, 0.0)
                - np.where(control, (y - mu[:, 0]) / propensity, 0.0)
            )
            self.constants.append(float(pseudo.mean()))
            if np.all(pseudo == pseudo[0]):
                self.models.append(None)
                continue
            model = HistGradientBoostingRegressor(**_options(x.shape[0], self.categorical, self.seed))
            model.fit(x, pseudo)
            self.models.append(model)

    def uplift(self, x: Matrix) -> Matrix:
        _one_thread()
        out = np.empty((x.shape[0], self.arms - 1), dtype=np.float64)
        for index, model in enumerate(self.models):
            out[:, index] = self.constants[index] if model is None else model.predict(x)
        return out


LEARNERS: dict[str, type[TLearner] | type[DRLearner]] = {
    "t-learner/hist-gradient-boosting": TLearner,
    "dr-learner/hist-gradient-boosting": DRLearner,
}
DEFAULT_LEARNER = "dr-learner/hist-gradient-boosting"


def new_learner(
    kind: str, arms: int, categorical: Sequence[bool], *, binary: bool, seed: int
) -> UpliftLearner:
    """The learner a model names (`summary["learner"]`): models trained before the DR-learner
    became the default keep loading as the T-learners they are."""
    return LEARNERS[kind](arms, categorical, binary=binary, seed=seed)
