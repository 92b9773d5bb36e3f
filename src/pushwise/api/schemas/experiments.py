"""`/v1/experiments`: records of random assignment, imported or made by holdouts and variants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from pushwise.api.schemas.common import ExternalId, Strict, at
from pushwise.store.experiments import ArmOutcome, Experiment

ArmKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
MAX_ASSIGNMENTS = 10_000


class ExperimentIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    arms: list[ArmKey] = Field(min_length=2, max_length=20, description="Every arm, the control among them.")
    control: ArmKey

    @model_validator(mode="after")
    def _control_is_an_arm(self) -> ExperimentIn:
        if len(set(self.arms)) != len(self.arms):
            raise ValueError("arms must be distinct")
        if self.control not in self.arms:
            raise ValueError(f"the control {self.control!r} is not among the arms")
        return self


class _ExperimentBase(BaseModel):
    id: str
    name: str
    control: str
    source: str = Field(description="import, notification or campaign")
    source_id: str | None
    model_id: str | None = Field(description="The uplift model that targeted the send, if one did.")
    created_at: datetime

    @staticmethod
    def fields_of(experiment: Experiment) -> dict[str, object]:
        return {
            "id": experiment.id,
            "name": experiment.name,
            "control": experiment.control,
            "source": experiment.source,
            "source_id": experiment.source_id,
            "model_id": experiment.model_id,
            "created_at": at(experiment.created_at),
        }


class ExperimentOut(_ExperimentBase):
    arms: list[str]

    @classmethod
    def of(cls, experiment: Experiment) -> ExperimentOut:
        return cls.model_validate({**cls.fields_of(experiment), "arms": list(experiment.arms)})


class AssignmentIn(Strict):
    user_id: ExternalId
    arm: ArmKey
    at: AwareDatetime | None = Field(default=None, description="When chance assigned the arm; default now.")


class AssignmentsIn(Strict):
    assignments: list[AssignmentIn] = Field(min_length=1, max_length=MAX_ASSIGNMENTS)


class AssignedOut(BaseModel):
    assigned: int = Field(description="Assignments stored by this call.")
    repeated: int = Field(description="Assignments already stored with the same arm (no-ops).")


class ArmOut(BaseModel):
    users: int
    mean: float | None = Field(description="The goal's mean per user; null without a goal or users.")
    ci: tuple[float, float] | None = Field(description="Its 95% interval (normal approximation).")

    @classmethod
    def of(cls, outcome: ArmOutcome) -> ArmOut:
        if outcome.mean is None:
            return cls(users=outcome.users, mean=None, ci=None)
        return cls(users=outcome.users, mean=outcome.mean.value, ci=outcome.mean.interval)


class GoalOut(BaseModel):
    event: str
    measure: str
    window_hours: float


class ExperimentResultOut(_ExperimentBase):
    arms: dict[str, ArmOut]
    goal: GoalOut | None = Field(description="What `mean` measures; null when no goal was asked for.")

    @classmethod
    def of(
        cls, experiment: Experiment, outcomes: list[ArmOutcome], goal: GoalOut | None
    ) -> ExperimentResultOut:
        arms = {outcome.arm: ArmOut.of(outcome) for outcome in outcomes}
        return cls.model_validate({**cls.fields_of(experiment), "arms": arms, "goal": goal})
