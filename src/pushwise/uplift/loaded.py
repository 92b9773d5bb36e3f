"""A trained model ready to score: encode features, predict uplift per arm, decide at a cost."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pushwise.domain.uplift.choice import PolicyChoice, choose
from pushwise.domain.uplift.decision import Decision, Shrinkage, fixed
from pushwise.domain.uplift.policy import ALL_PREFIX, NONE
from pushwise.uplift.artifact import Unpacked, unpack
from pushwise.uplift.encoding import FeatureSchema, Matrix, Value
from pushwise.uplift.training import uplift_rows

_CHOICES_KEPT = 16


@dataclass
class LoadedModel:
    arms: tuple[str, ...]  # the control first
    schema: FeatureSchema
    shrinkage: Mapping[str, Shrinkage]
    unpacked: Unpacked
    cost: float  # the model's own cost per send
    choices: dict[float, PolicyChoice] = field(default_factory=dict)

    @classmethod
    def of(cls, summary: Mapping[str, Any], blob: bytes, cost: float) -> LoadedModel:
        shrinkage = {
            arm: Shrinkage(item["average"], item["centre"], item["factor"])
            for arm, item in summary["shrinkage"].items()
        }
        return cls(
            tuple(summary["arms"]),
            FeatureSchema.from_json(summary["features"]),
            shrinkage,
            unpack(blob, dict(summary)),
            cost,
        )

    @property
    def control(self) -> str:
        return self.arms[0]

    def choice(self, cost: float) -> PolicyChoice:
        """Personalise or fall back, at `cost`: the validation rows decide, once per cost."""
        found = self.choices.get(cost)
        if found is None:
            treatments = self.arms[1:]
            rows = uplift_rows(self.unpacked.validation_uplift, treatments)
            found = choose(self.unpacked.logged, rows, self.arms, self.control, cost)
            if len(self.choices) >= _CHOICES_KEPT:
                self.choices.pop(next(iter(self.choices)))
            self.choices[cost] = found
        return found

    def decide(self, features: Sequence[Mapping[str, Value]], cost: float | None = None) -> list[Decision]:
        at = self.cost if cost is None else cost
        fallback = self.choice(at).fallback
        if not features:
            return []
        raw = self.unpacked.learner.uplift(self.schema.matrix(features))
        return decisions(raw, self.arms[1:], self.shrinkage, at, fallback)


def decisions(
    raw: Matrix,
    treatments: Sequence[str],
    shrinkage: Mapping[str, Shrinkage],
    cost: float,
    fallback: str | None,
) -> list[Decision]:
    """`domain.uplift.decision.decide` for a whole batch at once, in numpy.

    The same arithmetic in the same order (so the same floats), the first largest arm on
    ties, the same fixed policies; `tests/unit/test_uplift_batch_decisions.py` checks it
    against the pure rule. Row by row in Python the rule cost as much as the prediction.
    """
    if fallback is not None:
        fixed({arm: 0.0 for arm in treatments}, fallback)  # refuses a policy that is not this model's
    average = np.array([shrinkage[arm].average for arm in treatments])
    factor = np.array([shrinkage[arm].factor for arm in treatments])
    centre = np.array([shrinkage[arm].centre for arm in treatments])
    shrunk = average + factor * (raw - centre)
    best = np.argmax(shrunk, axis=1)
    if fallback is None:
        send = (shrunk[np.arange(shrunk.shape[0]), best] > cost).tolist()
    else:
        send = [fallback != NONE] * shrunk.shape[0]
        if fallback != NONE:
            best = np.full(shrunk.shape[0], list(treatments).index(fallback[len(ALL_PREFIX) :]))
    return [
        Decision(treatments[arm], dict(zip(treatments, gains, strict=True)), sent)
        for arm, gains, sent in zip(best.tolist(), shrunk.tolist(), send, strict=True)
    ]
