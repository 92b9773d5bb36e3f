"""`POST /v1/events`: what the app tells pushwise its users did."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from pushwise.api.schemas.common import ExternalId, Strict
from pushwise.domain.audience.event_types import is_known_type

MAX_EVENTS = 1000
MAX_PROPERTIES = 64


def _known_type(name: str) -> str:
    if not is_known_type(name):
        raise ValueError(
            "not an event type: use a notification event (opened, clicked, ...), a behaviour event "
            "(app_open, item_viewed, added_to_cart, purchased, searched) or custom:<name>"
        )
    return name


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("a value is a finite number")
    return value


EventType = Annotated[str, Field(min_length=1, max_length=72), AfterValidator(_known_type)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")]


class EventIn(Strict):
    id: Annotated[str, Field(min_length=1, max_length=128, description="Client-made, unique per app.")]
    type: EventType
    user_id: ExternalId
    at: AwareDatetime | None = Field(
        default=None, description="When it happened (with its offset); default: now."
    )
    delivery_id: int | None = Field(default=None, ge=1, description="The delivery this event answers.")
    notification_id: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    value: Annotated[float, AfterValidator(_finite)] | None = None
    currency: Currency | None = None
    properties: dict[str, Any] = Field(default_factory=dict, max_length=MAX_PROPERTIES)


class EventsIn(Strict):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsOut(BaseModel):
    accepted: int = Field(description="Events stored now.")
    duplicates: int = Field(description="Events whose id was stored before (or repeated in this batch).")
    late: int = Field(description="Events older than the late window: not stored, teach nothing.")
