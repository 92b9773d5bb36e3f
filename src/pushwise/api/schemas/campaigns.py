"""`/v1/campaigns`: what a campaign is made of."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from pushwise.api.schemas.common import Strict
from pushwise.api.schemas.feedback import Feedback
from pushwise.api.schemas.notifications import DeliveryOut
from pushwise.domain.campaigns.recipes import RECIPES
from pushwise.store.campaign_analytics import CampaignAnalytics, Day, Funnel

RecipeName = Annotated[str, Field(description=f"One of {', '.join(RECIPES)}")]


class CampaignIn(Strict):
    """One of: `notification` (one-off; with its `send_at`, scheduled; with `cron`, recurring), a
    journey (`trigger`, `steps`, `exit`, `reentry_seconds`), or a `recipe` with what to `notify`."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    notification: dict[str, Any] | None = Field(default=None, description="A POST /v1/notifications body.")
    cron: Annotated[str, Field(max_length=100)] | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description='An IANA zone for `cron` (default UTC), or "user" for each user\'s own.'
    )
    trigger: dict[str, Any] | None = None
    steps: list[dict[str, Any]] | None = Field(default=None, max_length=50)
    exit: dict[str, Any] | None = None
    reentry_seconds: Annotated[float, Field(ge=0)] | None = None
    recipe: RecipeName | None = None
    notify: dict[str, Any] | None = None
    second_notify: dict[str, Any] | None = None
    wait_seconds: Annotated[float, Field(gt=0)] | None = None
    second_after_seconds: Annotated[float, Field(gt=0)] | None = None
    inactive_days: Annotated[int, Field(ge=1, le=365)] | None = None
    local_time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CampaignIn:
        kinds = [
            self.notification is not None,
            self.trigger is not None or self.steps is not None,
            self.recipe is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("give one of: notification, a journey (trigger and steps), or a recipe")
        if self.cron is not None and self.notification is None:
            raise ValueError("cron goes with notification (a recurring campaign)")
        return self

    def options(self) -> dict[str, Any]:
        """A recipe's options: what to send and the defaults it overrides."""
        names = (
            "notify",
            "second_notify",
            "wait_seconds",
            "second_after_seconds",
            "inactive_days",
            "local_time",
        )
        given = {name: getattr(self, name) for name in names if getattr(self, name) is not None}
        if self.reentry_seconds is not None:
            given["reentry_seconds"] = self.reentry_seconds
        if self.exit is not None:
            given["exit"] = self.exit
        return given


class CampaignOut(BaseModel):
    id: str
    name: str
    kind: str
    status: str
    definition: dict[str, Any]
    runs: int
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime
    feedback: Feedback


class CampaignDeliveryOut(DeliveryOut):
    notification_id: str


class CampaignDeliveryPage(BaseModel):
    items: list[CampaignDeliveryOut]
    next_cursor: str | None


class ArmOut(BaseModel):
    key: str
    users: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    converted: int
    revenue: float
    unsubscribed: int
    permission_lost: int
    rates: dict[str, float]
    ci: dict[str, list[float]]

    @classmethod
    def of(cls, funnel: Funnel) -> ArmOut:
        return cls(
            key=funnel.key,
            users=funnel.users,
            sent=funnel.sent,
            delivered=funnel.delivered,
            opened=funnel.opened,
            clicked=funnel.clicked,
            converted=funnel.converted,
            revenue=funnel.revenue,
            unsubscribed=funnel.unsubscribed,
            permission_lost=funnel.permission_lost,
            rates=funnel.rates(),
            ci=funnel.intervals(),
        )


class DayOut(ArmOut):
    """One UTC day of sending (`day`: epoch seconds of its start): the campaign's funnel that day
    (`key` "total"), and each variant's with its own rates and intervals."""

    day: int
    variants: list[ArmOut]

    @classmethod
    def of_day(cls, day: Day) -> DayOut:
        return cls(
            **ArmOut.of(day.total).model_dump(), day=day.day, variants=[ArmOut.of(f) for f in day.variants]
        )


class UpliftOut(BaseModel):
    value: float
    ci: list[float]
    p_value: float


class AnalyticsOut(BaseModel):
    variants: list[ArmOut]
    holdout: ArmOut | None
    uplift: dict[str, UpliftOut] | None
    days: list[DayOut]

    @classmethod
    def of(cls, found: CampaignAnalytics) -> AnalyticsOut:
        return cls(
            variants=[ArmOut.of(f) for f in found.variants],
            holdout=ArmOut.of(found.holdout) if found.holdout else None,
            uplift={
                k: UpliftOut(value=d.value, ci=[d.low, d.high], p_value=d.p_value)
                for k, d in found.uplift.items()
            }
            if found.uplift
            else None,
            days=[DayOut.of_day(day) for day in found.days],
        )
