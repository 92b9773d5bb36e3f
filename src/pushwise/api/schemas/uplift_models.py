"""`/v1/uplift-models`: models of who a send moves, learned from randomised experiments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, model_validator

from pushwise.api.schemas.common import ExternalId, Strict, at, when
from pushwise.domain.uplift.outcomes import Measure
from pushwise.store.uplift_features import valid_selection
from pushwise.store.uplift_models import UpliftModel

SourceId = Annotated[str, Field(min_length=1, max_length=40)]
MAX_SCORED = 1000


def _feature(entry: str) -> str:
    if not valid_selection(entry):
        raise ValueError(
            "not a feature: use attributes[.<key>], engagement[.<counter>], interests[.<category>], "
            "open_propensity, platform, country or last_active_days"
        )
    return entry


class LearnFrom(Strict):
    experiments: list[SourceId] = Field(default_factory=list, max_length=100)
    notifications: list[SourceId] = Field(default_factory=list, max_length=100)
    campaigns: list[SourceId] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _something(self) -> LearnFrom:
        if not (self.experiments or self.notifications or self.campaigns):
            raise ValueError("name at least one experiment, notification or campaign to learn from")
        return self


class GoalIn(Strict):
    event: Annotated[str, Field(min_length=1, max_length=72)]
    measure: Measure


class UpliftModelIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    learn_from: LearnFrom
    goal: GoalIn
    window_hours: float = Field(default=168.0, gt=0, le=24 * 366)
    cost_per_send: float = Field(default=0.0, ge=0, description="In the goal's units per send.")
    features: list[Annotated[str, Field(max_length=140), AfterValidator(_feature)]] | None = Field(
        default=None, max_length=200, description="Default: every attribute and what the profile knows."
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Folds and learner; same seed, same model.")


class UpliftModelOut(BaseModel):
    id: str
    name: str
    status: str = Field(description="training | ready | failed")
    error: str | None
    created_at: datetime
    trained_at: datetime | None
    learn_from: dict[str, list[str]]
    goal: dict[str, str]
    window_hours: float
    cost_per_send: float
    features: list[str] | None = Field(description="The features asked for (null: the defaults).")
    arms: list[str] | None
    control: str | None
    rows: dict[str, int] | None = Field(description="Users learned from, per arm.")
    validation: dict[str, Any] | None = Field(
        description="Cross-fitted: qini, auuc, deciles, policy, baselines."
    )
    learned_features: list[dict[str, Any]] | None = Field(description="Feature columns the learner used.")

    @classmethod
    def of(cls, model: UpliftModel) -> UpliftModelOut:
        spec, summary = model.spec, model.summary or {}
        return cls(
            id=model.id,
            name=model.name,
            status=model.status,
            error=model.error,
            created_at=at(model.created_at),
            trained_at=when(model.trained_at),
            learn_from=spec["learn_from"],
            goal=spec["goal"],
            window_hours=spec["window_hours"],
            cost_per_send=spec["cost_per_send"],
            features=spec.get("features"),
            arms=summary.get("arms"),
            control=summary.get("control"),
            rows=summary.get("rows"),
            validation=summary.get("validation"),
            learned_features=summary.get("features"),
        )


class ScoreIn(Strict):
    user_ids: list[ExternalId] = Field(min_length=1, max_length=MAX_SCORED)
    cost_per_send: float | None = Field(default=None, ge=0, description="Default: the model's own.")


class ScoreOut(BaseModel):
    user_id: str
    best_arm: str
    uplift: dict[str, float] = Field(description="Expected gain of each arm over the control (goal's units).")
    send: bool


class ScoresOut(BaseModel):
    scores: list[ScoreOut]
    cost_per_send: float
    policy: str = Field(description="personalised, or the fixed policy followed (all:<arm> or none)")
