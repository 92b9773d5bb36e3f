"""The learner behind uplift models: a small fit/predict interface, and a T-learner on it.

A T-learner fits one outcome model per arm (the control included) and reads each
arm's uplift as the difference of their predictions. On gradient boosting with a
cost rule it is the field's strong, simple baseline; the interface lets an X- or
DR-learner replace it without touching training, validation or scoring.
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
    def fit(self, x: Matrix, arm: ArmIndex, y: Vector) -> None: ...

    def predict(self, x: Matrix) -> Matrix:
        """Expected outcome per row (rows) and arm (columns, the control first)."""
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


class TLearner:
    """One histogram gradient boosting model per arm; an arm whose outcome never varies is a constant.

    Fixed iterations and no subsampling or early stopping: the fit depends on the data
    and the seed alone, so the same request trains the same model.
    """

    def __init__(self, arms: int, categorical: Sequence[bool], *, binary: bool, seed: int) -> None:
        self.arms = arms
        self.categorical = list(categorical)
        self.binary = binary
        self.seed = seed
        self.models: list[Any] = []
        self.constants: list[float] = []

    def _estimator(self, rows: int) -> Any:
        options: dict[str, Any] = {
            "max_iter": 50,
            "learning_rate": 0.05,
            "max_leaf_nodes": 8,
            "min_samples_leaf": int(min(500, max(20, rows // 20))),
            "l2_regularization": 10.0,
            "early_stopping": False,
            "categorical_features": self.categorical,
            "random_state": self.seed,
        }
        if self.binary:
            return HistGradientBoostingClassifier(**options)
        return HistGradientBoostingRegressor(**options)

    def fit(self, x: Matrix, arm: ArmIndex, y: Vector) -> None:
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
