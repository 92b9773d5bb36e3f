"""Features as the learner sees them: a fixed list of numeric and categorical columns.

The schema is learned once from the training rows and stored with the model, so a
user scored later is encoded exactly as the users it learned from: numbers (and
booleans as 0/1) stay numbers; anything else is a category, coded by its rank among
the training values (the `max_categories` most frequent; others and unseen ones are
missing). Missing is NaN, which gradient boosting routes on its own. A feature that is the same
for every training row is left out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Value = float | str | None
Matrix = npt.NDArray[np.float64]
MAX_COLUMNS = 200
MAX_CATEGORIES = 250  # below the learner's 255 bins


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    categories: tuple[str, ...] | None  # None: numeric

    @property
    def categorical(self) -> bool:
        return self.categories is not None


def _number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return math.nan


@dataclass(frozen=True, slots=True)
class FeatureSchema:
    columns: tuple[Column, ...]

    @classmethod
    def learn(
        cls,
        rows: Sequence[Mapping[str, Value]],
        max_columns: int = MAX_COLUMNS,
        max_categories: int = MAX_CATEGORIES,
    ) -> FeatureSchema:
        present = Counter(name for row in rows for name, value in row.items() if value is not None)
        names = sorted(present, key=lambda name: (-present[name], name))[:max_columns]
        columns = []
        for name in sorted(names):
            values = [row[name] for row in rows if row.get(name) is not None]
            if len({str(value) for value in values}) < 2:
                continue  # the same for everyone: nothing to learn from, nothing to read when scoring
            if all(isinstance(value, bool | int | float) for value in values):
                columns.append(Column(name, None))
                continue
            counts = Counter(str(value) for value in values)
            ranked = sorted(counts, key=lambda value: (-counts[value], value))[:max_categories]
            columns.append(Column(name, tuple(ranked)))
        return cls(tuple(columns))

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def categorical_mask(self) -> list[bool]:
        return [column.categorical for column in self.columns] or [False]

    def matrix(self, rows: Sequence[Mapping[str, Value]]) -> Matrix:
        """One row per input, one column per feature (a single constant column if there are none)."""
        out = np.full((len(rows), max(1, len(self.columns))), np.nan, dtype=np.float64)
        if not self.columns:
            out[:, 0] = 0.0
            return out
        for j, column in enumerate(self.columns):
            if column.categories is None:
                out[:, j] = [_number(row.get(column.name)) for row in rows]
            else:
                codes = {value: float(code) for code, value in enumerate(column.categories)}
                out[:, j] = [
                    codes.get(str(value), math.nan)
                    if (value := row.get(column.name)) is not None
                    else math.nan
                    for row in rows
                ]
        return out

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                "name": c.name,
                "kind": "categorical" if c.categorical else "numeric",
                "categories": c.categories,
            }
            for c in self.columns
        ]

    @classmethod
    def from_json(cls, stored: Sequence[Mapping[str, Any]]) -> FeatureSchema:
        return cls(
            tuple(
                Column(item["name"], tuple(item["categories"]) if item["kind"] == "categorical" else None)
                for item in stored
            )
        )
