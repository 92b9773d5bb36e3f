"""`/v1/catalog/items` and `/v1/users/{external_id}/picks`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ItemId = Annotated[str, Field(min_length=1, max_length=128)]
MAX_ITEMS = 1000


class ItemIn(BaseModel):
    """Known fields are checked; any other field (brand, colour, ...) is kept for templates and rules."""

    model_config = ConfigDict(extra="allow")

    id: ItemId
    title: Annotated[str, Field(min_length=1, max_length=500)]
    category: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    tags: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)
    price: Annotated[float, Field(ge=0)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    stock: int | None = Field(default=None, description="Units in stock; 0 or less is never picked.")
    image: Annotated[str, Field(max_length=2048)] | None = None
    url: Annotated[str, Field(max_length=2048)] | None = None
    launched_at: AwareDatetime | None = None
    names: dict[str, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, description='The title per locale, e.g. {"de": "Wanderschuhe"}.'
    )


class ItemsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS)


class ItemsOut(BaseModel):
    upserted: int


class ItemOut(BaseModel):
    id: str
    fields: dict[str, Any]


class PickOut(BaseModel):
    item: dict[str, Any]
    score: float
    parts: dict[str, float] = Field(description="interest, recency, popularity, novelty")


class PicksOut(BaseModel):
    user_id: str
    computed_at: datetime
    picks: list[PickOut]
