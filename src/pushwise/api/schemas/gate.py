"""Shapes of `POST /v1/gate/explain` (API.md, "The gate")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from pushwise.api.schemas.common import ExternalId, Strict
from pushwise.api.schemas.notifications import NotificationIn, TargetIn


class NotificationBodyIn(NotificationIn):
    """The body of `POST /v1/notifications`; its `to`, if given, is not read."""

    to: TargetIn | None = None  # type: ignore[assignment]


class ExplainIn(Strict):
    user_id: ExternalId
    notification: NotificationBodyIn
    at: AwareDatetime | None = Field(default=None, description="When to decide as of; default now.")
    device_id: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        default=None,
        description="Which of the user's devices; default their oldest active one (else the inbox).",
    )


class ExplainStep(BaseModel):
    check: str
    result: Literal["pass", "defer", "suppress", "hold_out", "merge", "not_reached"]
    detail: str


class ExplainOut(BaseModel):
    decision: Literal["send", "defer", "suppress", "hold_out", "merge"]
    until: datetime | None
    reason: str | None
    channel: str
    device_id: str | None
    steps: list[ExplainStep]
    uplift: dict[str, Any] | None = Field(
        default=None,
        description="For a send targeted by an uplift model: its answer for this user (`model`, "
        "`cost_per_send`, `best_arm`, `uplift` per arm, `send`, or the `problem` that kept it from scoring).",
    )
