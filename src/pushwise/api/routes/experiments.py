"""`/v1/experiments`: import past experiments and read any experiment's outcome per arm (server key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.schemas.experiments import (
    AssignedOut,
    AssignmentsIn,
    ExperimentIn,
    ExperimentOut,
    ExperimentResultOut,
    GoalOut,
)
from pushwise.domain.uplift.outcomes import Goal, Measure
from pushwise.store.experiments import AssignmentConflict, Experiment, NewAssignment

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])

ExperimentId = Annotated[str, Path(min_length=1, max_length=40)]
MAX_WINDOW_HOURS = 24 * 366


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_experiment(
    body: ExperimentIn, principal: Server, stores: StoresDep, services: ServicesDep
) -> ExperimentOut:
    """Import a past experiment: its arms and which is the control; then post its assignments."""
    experiment = await stores.experiments.create(
        principal.app_id_required, body.name, body.arms, body.control, services.clock.now()
    )
    return ExperimentOut.of(experiment)


async def _experiment(stores: StoresDep, app_id: str, experiment_id: str) -> Experiment:
    experiment = await stores.experiments.get(app_id, experiment_id)
    if experiment is None:
        raise not_found("experiment")
    return experiment


@router.post("/{experiment_id}/assignments")
async def assign(
    experiment_id: ExperimentId,
    body: AssignmentsIn,
    principal: Server,
    stores: StoresDep,
    services: ServicesDep,
) -> AssignedOut:
    """Up to 10,000 assignments, all or nothing; a repeat with the same arm is a no-op, another arm a 409."""
    experiment = await _experiment(stores, principal.app_id_required, experiment_id)
    now = services.clock.now()
    batch = []
    for index, item in enumerate(body.assignments):
        if item.arm not in experiment.arms:
            raise ApiError(
                422,
                "unknown_arm",
                f"{item.arm!r} is not an arm of this experiment ({', '.join(experiment.arms)})",
                f"assignments[{index}].arm",
            )
        batch.append(NewAssignment(item.user_id, item.arm, item.at.timestamp() if item.at else now))
    try:
        assigned, repeated = await stores.experiments.assign(experiment, batch, now)
    except AssignmentConflict as conflict:
        raise ApiError(409, "assignment_conflict", str(conflict), "assignments") from conflict
    return AssignedOut(assigned=assigned, repeated=repeated)


@router.get("/{experiment_id}")
async def get_experiment(
    experiment_id: ExperimentId,
    principal: Server,
    stores: StoresDep,
    goal_event: Annotated[str | None, Query(min_length=1, max_length=72)] = None,
    measure: Annotated[Measure, Query()] = "any",
    window_hours: Annotated[float, Query(gt=0, le=MAX_WINDOW_HOURS)] = 168.0,
) -> ExperimentResultOut:
    """Each arm's users and, for a goal, its mean per user over the same window after assignment."""
    app_id = principal.app_id_required
    experiment = await _experiment(stores, app_id, experiment_id)
    goal = Goal(goal_event, measure) if goal_event else None
    if goal is not None and not await stores.experiments.has_events(app_id, goal.event):
        raise ApiError(
            422,
            "goal_has_no_events",
            f"this app has no {goal.event!r} events: nothing could be measured (post them to /v1/events)",
            "goal_event",
        )
    outcomes = await stores.experiments.arm_outcomes(experiment, goal, window_hours * 3600)
    shown = GoalOut(event=goal.event, measure=goal.measure, window_hours=window_hours) if goal else None
    return ExperimentResultOut.of(experiment, outcomes, shown)
