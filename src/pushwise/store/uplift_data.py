"""The rows an uplift model learns from: every assignment of its experiments whose window has ended.

Each row is one user of one experiment: the arm chance gave them, the probability of
that arm in that experiment (its share of the experiment's rows), their outcome over
the window (`store/experiments.py`, the same for every arm) and their features as of
the assignment (`store/uplift_features.py`). Assignments whose window is still open
at training time are left out: their outcome is not known yet.

Several experiments pool into one model: each experiment's control becomes the
model's control (the first experiment's name for it), other arms keep their names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from pushwise.domain.uplift.outcomes import Goal
from pushwise.store.db import Database
from pushwise.store.experiments import outcome_of
from pushwise.store.schema import experiment_assignments, experiments, users
from pushwise.store.uplift_features import FeatureOptions, Value, read_features


@dataclass(frozen=True, slots=True)
class TrainingRows:
    arms: tuple[str, ...]  # the control first
    arm: list[str]
    outcome: list[float]
    propensity: list[float]
    features: list[dict[str, Value]]


async def read_training_rows(
    db: Database,
    experiment_ids: Sequence[str],
    goal: Goal,
    window_seconds: float,
    now: float,
    options: FeatureOptions,
    selection: tuple[str, ...] | None,
) -> TrainingRows:
    """Rows of these experiments (ids already checked to be the app's), in a stable order."""

    def read(conn: Connection) -> TrainingRows:
        found = {
            row.id: row
            for row in conn.execute(
                select(experiments.c.id, experiments.c.arms, experiments.c.control).where(
                    experiments.c.id.in_(list(experiment_ids))
                )
            )
        }
        ordered = [found[i] for i in experiment_ids if i in found]
        if not ordered:
            return TrainingRows((), [], [], [], [])
        control = ordered[0].control
        arms = [control]
        for experiment in ordered:
            arms += [arm for arm in experiment.arms if arm != experiment.control and arm not in arms]
        controls = {experiment.id: experiment.control for experiment in ordered}
        ended = (
            experiment_assignments.c.experiment_id.in_(list(controls)),
            experiment_assignments.c.at + window_seconds <= now,
        )
        fetched = list(
            conn.execute(
                select(
                    experiment_assignments.c.experiment_id,
                    experiment_assignments.c.user_id,
                    experiment_assignments.c.arm,
                    outcome_of(goal, window_seconds),
                    users.c.external_id,
                )
                .join(users, users.c.id == experiment_assignments.c.user_id)
                .where(*ended)
            )
        )
        # Experiments in the order asked, users by the app's own ids (sorted here, not by a
        # collation): the same data gives the same rows in the same order, so the same folds,
        # in any database.
        position = {e: i for i, e in enumerate(controls)}
        fetched.sort(key=lambda row: (position[row[0]], row[4]))
        rows = [(e, u, arm, y) for e, u, arm, y, _external in fetched]
        probe = (
            select(
                experiment_assignments.c.experiment_id,
                experiment_assignments.c.user_id,
                experiment_assignments.c.at.label("t"),
            )
            .where(*ended)
            .subquery()
        )
        features = read_features(conn, probe, options, selection)
        mapped = [control if arm == controls[e] else arm for e, _u, arm, _y in rows]
        sizes = Counter(e for e, _u, _a, _y in rows)
        shares = Counter((row[0], arm) for row, arm in zip(rows, mapped, strict=True))
        return TrainingRows(
            tuple(arms),
            mapped,
            [float(y) for _e, _u, _a, y in rows],
            [shares[(row[0], arm)] / sizes[row[0]] for row, arm in zip(rows, mapped, strict=True)],
            [features.get((e, u), {}) for e, u, _a, _y in rows],
        )

    # The read pool, not `Database.query`: on SQLite that thread serves the workers' per-batch
    # reads, and a model's rows can take seconds to read.
    async with db.read.connect() as connection:
        return await connection.run_sync(read)
