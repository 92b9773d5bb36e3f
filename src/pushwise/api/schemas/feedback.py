"""Feedback counts as the API shows them: per notification, campaign, template and category.

They count what users answered pushes with (`POST /v1/events`), so a sender sees which
messages people open and which push them away, beside the delivery counts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from pushwise.domain.audience.event_types import FEEDBACK_EVENTS

Feedback = Annotated[
    dict[str, int],
    Field(
        default_factory=dict,
        description="Events answering these pushes, by type: "
        f"{', '.join(sorted(FEEDBACK_EVENTS))} (types with none left out).",
    ),
]

FeedbackBy = Literal["campaign", "category", "template"]


class FeedbackEntryOut(BaseModel):
    key: str = Field(description="The campaign id, category key or template key.")
    feedback: Feedback


class FeedbackByOut(BaseModel):
    by: FeedbackBy
    items: list[FeedbackEntryOut] = Field(description="Every key with any feedback, in key order.")
