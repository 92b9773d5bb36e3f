"""Request and response shapes of `/v1/segments` (API.md, Audience)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import Strict, at
from pushwise.store.segments import Preview, Segment

Name = Annotated[str, Field(min_length=1, max_length=200)]


class SegmentIn(Strict):
    name: Name
    rule: dict[str, Any] = Field(description="A rule: all / any / not, or a leaf {field, op, value}.")


class SegmentPreviewIn(Strict):
    rule: dict[str, Any]


class SegmentOut(BaseModel):
    id: str
    name: str
    rule: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, segment: Segment) -> SegmentOut:
        return cls(
            id=segment.id,
            name=segment.name,
            rule=segment.rule,
            created_at=at(segment.created_at),
            updated_at=at(segment.updated_at),
        )


class SegmentPage(BaseModel):
    items: list[SegmentOut]
    next_cursor: str | None


class SegmentPreviewOut(BaseModel):
    count: int
    sample: list[str] = Field(description="External ids of up to 20 of the users, in order.")

    @classmethod
    def of(cls, preview: Preview) -> SegmentPreviewOut:
        return cls(count=preview.count, sample=preview.sample)
