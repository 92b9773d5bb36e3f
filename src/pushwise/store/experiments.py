"""Experiments: records of random assignment (user, arm, time), and each arm's outcome for a goal.

Two writers: the import API (`POST /v1/experiments/{id}/assignments`, past experiments
from other tools) and the planner, which records the holdout and variant arms of a
notification or campaign inside its own transaction (`record_send_assignments`). A
user's first assignment stands: repeating it is a no-op, and the import refuses a
different arm for the same user (`AssignmentConflict`), storing nothing of the batch.

Outcomes are read from the user-event log over `[at, at + window)` for every arm alike
(`domain/uplift/outcomes.py` is the reference), with one correlated aggregate per
assignment on the log's (user, type, at) index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Float, and_, case, exists, func, literal, select

from pushwise.domain.uplift.estimates import Estimate, mean_estimate
from pushwise.domain.uplift.outcomes import Goal
from pushwise.store.db import Database
from pushwise.store.ids import new_id
from pushwise.store.schema import experiment_assignments, experiments, user_events
from pushwise.store.upsert import dialect_insert
from pushwise.store.users import ensure_user_ids

IMPORT = "import"
SOURCES = (IMPORT, "notification", "campaign")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    app_id: str
    name: str
    arms: tuple[str, ...]
    control: str
    source: str
    source_id: str | None
    model_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class NewAssignment:
    user: str  # the app's external user id
    arm: str
    at: float


@dataclass(frozen=True, slots=True)
class ArmOutcome:
    arm: str
    users: int
    mean: Estimate | None  # None for an arm nobody was assigned to


class AssignmentConflict(Exception):
    """A user already holds (or is given twice in one batch) another arm of the experiment."""

    def __init__(self, user: str, held: str, asked: str) -> None:
        super().__init__(
            f"user {user!r} is assigned to arm {held!r}, not {asked!r}: a user never changes arm"
        )
        self.user = user


def _experiment(row: Any) -> Experiment:
    return Experiment(
        row.id,
        row.app_id,
        row.name,
        tuple(row.arms),
        row.control,
        row.source,
        row.source_id,
        row.model_id,
        row.created_at,
    )


def outcome_of(goal: Goal, window_seconds: float) -> ColumnElement[Any]:
    """Per assignment row: its user's outcome for `goal` over `[at, at + window)`."""
    inside = and_(
        user_events.c.user_id == experiment_assignments.c.user_id,
        user_events.c.type == goal.event,
        user_events.c.at >= experiment_assignments.c.at,
        user_events.c.at < experiment_assignments.c.at + window_seconds,
    )
    if goal.measure == "any":
        return case((exists().where(inside), literal(1.0, Float)), else_=literal(0.0, Float))
    total = select(func.coalesce(func.sum(func.coalesce(user_events.c.value, 0.0)), 0.0)).where(inside)
    return total.scalar_subquery()


def has_events(conn: Connection, app_id: str, event_type: str) -> bool:
    found = conn.execute(
        select(user_events.c.id)
        .where(user_events.c.app_id == app_id, user_events.c.type == event_type)
        .limit(1)
    ).first()
    return found is not None


def record_send_assignments(
    conn: Connection,
    app_id: str,
    *,
    source: str,
    source_id: str,
    arms: Sequence[str],
    control: str,
    assignments: Mapping[str, str],
    at: float,
    model_id: str | None = None,
) -> str:
    """For the planner, inside its own transaction: record which user (internal id) got which arm
    of a notification's or campaign's holdout or variants. Returns the experiment's id.

    The experiment is created on first use (one per notification or campaign); users
    already assigned keep their first arm, so a campaign's holdout stays held out on
    every send. `model_id` names the uplift model that targeted the send, if one did.
    """
    if source == IMPORT or source not in SOURCES:
        raise ValueError(f"planner sources are notification and campaign, not {source!r}")
    if control not in arms:
        raise ValueError(f"the control {control!r} is not among the arms")
    stray = set(assignments.values()) - set(arms)
    if stray:
        raise ValueError(f"unknown arms: {sorted(stray)}")
    row = {
        "id": new_id("exp"),
        "app_id": app_id,
        "name": f"{source} {source_id}",
        "arms": list(arms),
        "control": control,
        "source": source,
        "source_id": source_id,
        "model_id": model_id,
        "created_at": at,
    }
    conn.execute(dialect_insert(conn, experiments).on_conflict_do_nothing(), [row])
    experiment_id: str = conn.execute(
        select(experiments.c.id).where(
            experiments.c.app_id == app_id,
            experiments.c.source == source,
            experiments.c.source_id == source_id,
        )
    ).scalar_one()
    rows = [
        {"experiment_id": experiment_id, "user_id": user_id, "arm": arm, "at": at}
        for user_id, arm in sorted(assignments.items())
    ]
    if rows:
        conn.execute(dialect_insert(conn, experiment_assignments).on_conflict_do_nothing(), rows)
    return experiment_id


class ExperimentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, app_id: str, name: str, arms: Sequence[str], control: str, now: float
    ) -> Experiment:
        """An imported experiment (the planner's are made by `record_send_assignments`)."""
        experiment = Experiment(new_id("exp"), app_id, name, tuple(arms), control, IMPORT, None, None, now)

        def write(conn: Connection) -> None:
            conn.execute(
                experiments.insert(),
                [
                    {
                        "id": experiment.id,
                        "app_id": app_id,
                        "name": name,
                        "arms": list(arms),
                        "control": control,
                        "source": IMPORT,
                        "source_id": None,
                        "model_id": None,
                        "created_at": now,
                    }
                ],
            )

        await self._db.transact(write, urgent=True)
        return experiment

    async def get(self, app_id: str, experiment_id: str) -> Experiment | None:
        def read(conn: Connection) -> Experiment | None:
            row = conn.execute(
                select(experiments).where(experiments.c.id == experiment_id, experiments.c.app_id == app_id)
            ).first()
            return _experiment(row) if row is not None else None

        return await self._db.query(read)

    async def of_sources(self, app_id: str, kind: str, ids: Sequence[str]) -> dict[str, Experiment]:
        """This app's experiments by their own id (`kind` "experiments") or by the notification or
        campaign they record (`kind` "notifications" or "campaigns"), keyed by the id asked for."""
        if kind == "experiments":
            key = experiments.c.id
        elif kind in ("notifications", "campaigns"):
            key = experiments.c.source_id
        else:
            raise ValueError(f"not a kind of experiment source: {kind!r}")

        def read(conn: Connection) -> dict[str, Experiment]:
            query = select(experiments).where(experiments.c.app_id == app_id, key.in_(list(ids)))
            if kind != "experiments":
                query = query.where(experiments.c.source == kind.removesuffix("s"))
            found = [_experiment(row) for row in conn.execute(query)]
            return {(e.id if kind == "experiments" else str(e.source_id)): e for e in found}

        return await self._db.query(read)

    async def assign(
        self, experiment: Experiment, batch: Sequence[NewAssignment], now: float
    ) -> tuple[int, int]:
        """Import assignments, all or nothing; unknown users are created. Returns (new, repeated)."""
        wanted: dict[str, NewAssignment] = {}
        for item in batch:
            first = wanted.setdefault(item.user, item)
            if first.arm != item.arm:
                raise AssignmentConflict(item.user, first.arm, item.arm)

        def write(conn: Connection) -> int:
            ids = ensure_user_ids(conn, experiment.app_id, list(wanted), now)
            held = _held_arms(conn, experiment.id, list(ids.values()))
            rows = []
            for external_id, item in wanted.items():
                user_id = ids[external_id]
                if user_id in held:
                    if held[user_id] != item.arm:
                        raise AssignmentConflict(external_id, held[user_id], item.arm)
                    continue
                rows.append(
                    {"experiment_id": experiment.id, "user_id": user_id, "arm": item.arm, "at": item.at}
                )
            if rows:
                conn.execute(experiment_assignments.insert(), rows)
            return len(rows)

        assigned = await self._db.transact(write, urgent=True)
        return assigned, len(batch) - assigned

    async def arm_outcomes(
        self, experiment: Experiment, goal: Goal | None, window_seconds: float
    ) -> list[ArmOutcome]:
        """Each arm's users and their outcome's mean with a 95% interval (no mean without a goal),
        in the experiment's arm order."""

        def read(conn: Connection) -> list[ArmOutcome]:
            value = (outcome_of(goal, window_seconds) if goal else literal(0.0, Float)).label("value")
            per_user = (
                select(experiment_assignments.c.arm, value)
                .where(experiment_assignments.c.experiment_id == experiment.id)
                .subquery()
            )
            rows = conn.execute(
                select(
                    per_user.c.arm,
                    func.count(),
                    func.sum(per_user.c.value),
                    func.sum(per_user.c.value * per_user.c.value),
                ).group_by(per_user.c.arm)
            ).all()
            found = {arm: (int(n), float(total or 0), float(squares or 0)) for arm, n, total, squares in rows}
            outcomes = []
            for arm in experiment.arms:
                n, total, squares = found.get(arm, (0, 0.0, 0.0))
                mean = mean_estimate(n, total, squares) if goal else None
                outcomes.append(ArmOutcome(arm, n, mean))
            return outcomes

        return await self._db.query(read)

    async def has_events(self, app_id: str, event_type: str) -> bool:
        return await self._db.query(lambda conn: has_events(conn, app_id, event_type))


def _held_arms(conn: Connection, experiment_id: str, user_ids: Sequence[str]) -> dict[str, str]:
    held: dict[str, str] = {}
    for start in range(0, len(user_ids), _CHUNK):
        chunk = user_ids[start : start + _CHUNK]
        query = select(experiment_assignments.c.user_id, experiment_assignments.c.arm).where(
            experiment_assignments.c.experiment_id == experiment_id,
            experiment_assignments.c.user_id.in_(chunk),
        )
        held.update({row.user_id: row.arm for row in conn.execute(query)})
    return held
