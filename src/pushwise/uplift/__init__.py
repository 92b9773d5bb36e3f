"""Uplift models: learners, training with cross-fitted validation, and scoring.

The learning libraries (scikit-learn, skops, numpy) are the optional extra
`pushwise[uplift]`, so the base install stays lean. Modules here that need them import
them at their top; the API, the trainer and the scorer reach those modules only after
`require_learning()`, which names the extra when it is missing.
"""

from __future__ import annotations

import importlib.util

EXTRA = "pushwise[uplift]"
_MODULES = ("numpy", "sklearn", "skops")


class LearningUnavailable(RuntimeError):
    """The learning libraries are not installed."""


def require_learning() -> None:
    missing = [name for name in _MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise LearningUnavailable(
            f"uplift models need scikit-learn, skops and numpy ({', '.join(missing)} missing): "
            f"install them with `pip install '{EXTRA}'`"
        )
