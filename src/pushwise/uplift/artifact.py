"""The trained model as bytes in the database, in a format that is safe to load.

skops stores scikit-learn estimators without pickle: loading builds only objects of
types named as trusted. The trusted list here is exactly what a histogram gradient
boosting model needs; a blob naming anything else (one an attacker wrote into the
table, say) is refused instead of loaded. The validation rows (shrunk out-of-fold
uplift, arm, propensity, outcome) travel along as plain arrays, so a cost override at
scoring can redo the policy choice without retraining.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import skops.io

from pushwise.domain.uplift.policy import LoggedRow
from pushwise.uplift.encoding import Matrix
from pushwise.uplift.learner import UpliftLearner, new_learner
from pushwise.uplift.training import Trained

TRUSTED = (
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)


class UnsafeArtifact(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Unpacked:
    learner: UpliftLearner
    validation_uplift: Matrix
    logged: list[LoggedRow]


def pack(trained: Trained) -> bytes:
    learner = trained.learner
    arms = trained.summary["arms"]
    index = {arm: i for i, arm in enumerate(arms)}
    contents: dict[str, Any] = {
        "models": [model for model in learner.models if model is not None],
        "present": np.array([model is not None for model in learner.models]),
        "constants": np.array(learner.constants, dtype=np.float64),
        "validation_uplift": trained.validation_uplift,
        "arm": np.array([index[row.arm] for row in trained.logged], dtype=np.int64),
        "propensity": np.array([row.propensity for row in trained.logged], dtype=np.float64),
        "outcome": np.array([row.outcome for row in trained.logged], dtype=np.float64),
    }
    return bytes(skops.io.dumps(contents, compression=zipfile.ZIP_DEFLATED))


def unpack(blob: bytes, summary: dict[str, Any]) -> Unpacked:
    untrusted = set(skops.io.get_untrusted_types(data=blob)) - set(TRUSTED)
    if untrusted:
        raise UnsafeArtifact(f"the stored model names types that are not trusted: {sorted(untrusted)}")
    contents = skops.io.loads(blob, trusted=list(TRUSTED))
    arms: list[str] = summary["arms"]
    categorical = [item["kind"] == "categorical" for item in summary["features"]] or [False]
    learner = new_learner(
        summary["learner"], len(arms), categorical, binary=summary["binary"], seed=summary["seed"]
    )
    models = iter(contents["models"])
    learner.models = [next(models) if present else None for present in contents["present"]]
    learner.constants = [float(value) for value in contents["constants"]]
    logged = [
        LoggedRow(arms[int(i)], float(p), float(y))
        for i, p, y in zip(contents["arm"], contents["propensity"], contents["outcome"], strict=True)
    ]
    return Unpacked(learner, contents["validation_uplift"], logged)
