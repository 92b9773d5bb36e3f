"""Trained models survive the trip through the database, and only trusted types ever load."""

from __future__ import annotations

import functools
import os
import random

import numpy as np
import pytest
import skops.io

from pushwise.uplift.artifact import UnsafeArtifact, pack, unpack
from pushwise.uplift.loaded import LoadedModel
from pushwise.uplift.training import Trained, TrainingSet, train


def _training_set(seed: int = 5, n: int = 1000) -> TrainingSet:
    rng = random.Random(seed)
    features, arm, outcome = [], [], []
    for _ in range(n):
        plan = rng.choice(["gold", "free"])
        treated = rng.random() < 0.5
        features.append({"attributes.plan": plan, "attributes.age": rng.randint(18, 70), "platform": "ios"})
        arm.append(int(treated))
        outcome.append(float(rng.random() < 0.1 + (0.4 if treated and plan == "gold" else 0.0)))
    return TrainingSet(
        ("control", "promo"), features, np.array(arm), np.array(outcome), np.full(n, 0.5), binary=True
    )


@pytest.fixture(scope="module")
def trained() -> Trained:
    return train(_training_set(), cost=0.15, seed=3)


def test_a_packed_model_scores_as_the_trained_one(trained: Trained) -> None:
    loaded = LoadedModel.of(trained.summary, pack(trained), cost=0.15)
    users = [{"attributes.plan": "gold", "attributes.age": 30}, {"attributes.plan": "free"}, {}]
    matrix = loaded.schema.matrix(users)
    predicted = loaded.unpacked.learner.uplift(matrix)[:, 0]
    assert list(predicted) == pytest.approx(list(trained.learner.uplift(matrix)[:, 0]))
    assert predicted[0] > predicted[1]
    assert loaded.choice(0.15).fallback is None
    assert [d.send for d in loaded.decide(users[:2])] == [True, False]
    assert [d.send for d in loaded.decide(users[:2], cost=0.0)] == [True, True]
    assert trained.summary["features"][0] == {"name": "attributes.age", "kind": "numeric", "categories": None}


def test_a_blob_naming_untrusted_types_is_refused(trained: Trained) -> None:
    evil = skops.io.dumps({"models": [functools.partial(os.system, "true")], "present": np.array([True])})
    with pytest.raises(UnsafeArtifact, match="not trusted"):
        unpack(evil, trained.summary)
