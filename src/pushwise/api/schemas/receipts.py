"""`/v1/apps/{app_id}/receipts`: where delivery receipts go (API.md, Receipts and alerts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from pushwise.api.schemas.common import Strict

ReceiptEvent = Literal["delivered", "failed", "token_dead", "fallback", "suppressed"]
ALL_EVENTS: list[ReceiptEvent] = ["delivered", "failed", "token_dead", "fallback", "suppressed"]


class ReceiptsIn(Strict):
    url: Annotated[str, Field(min_length=1, max_length=2048)]
    secret: Annotated[str, Field(min_length=16, max_length=256)] = Field(
        description="Shared secret for the `Pushwise-Signature` HMAC; at least 16 characters."
    )
    events: list[ReceiptEvent] = Field(default_factory=lambda: list(ALL_EVENTS), min_length=1)

    @field_validator("events")
    @classmethod
    def _once_each(cls, value: list[ReceiptEvent]) -> list[ReceiptEvent]:
        return sorted(set(value))


class ReceiptsOut(BaseModel):
    url: str
    events: list[str]
    updated_at: datetime
