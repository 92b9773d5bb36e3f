"""A trained model ready to score: encode features, predict uplift per arm, decide at a cost."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pushwise.domain.uplift.choice import PolicyChoice, choose
from pushwise.domain.uplift.decision import Decision, Shrinkage, decide
from pushwise.uplift.artifact import Unpacked, unpack
from pushwise.uplift.encoding import FeatureSchema, Value
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

    def predicted_uplift(self, features: Sequence[Mapping[str, Value]]) -> list[dict[str, float]]:
        """Each user's raw predicted gain per treatment arm over the control (before shrinkage)."""
        if not features:
            return []
        return uplift_rows(self.unpacked.learner.uplift(self.schema.matrix(features)), self.arms[1:])

    def decide(self, features: Sequence[Mapping[str, Value]], cost: float | None = None) -> list[Decision]:
        at = self.cost if cost is None else cost
        fallback = self.choice(at).fallback
        return [decide(gains, self.shrinkage, at, fallback) for gains in self.predicted_uplift(features)]
