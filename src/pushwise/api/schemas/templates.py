"""`/v1/templates`: message templates per locale, variant and channel part."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import ExternalId, Strict
from pushwise.api.schemas.feedback import Feedback


class TemplateIn(Strict):
    """`{"locales": {"en": {"title", "body", "subtitle", "url", "image", "email": {"subject", "html",
    "text"}, "inbox": {"title", "body"}}}, "variants": [{"key", "locales": {...}}]}`; parts are Jinja2
    (sandboxed) over `user`, `item`, `event`, `data` and `variables`."""

    locales: dict[str, dict[str, Any]] = Field(min_length=1, max_length=100)
    variants: list[dict[str, Any]] = Field(default_factory=list, max_length=26)


class TemplateOut(BaseModel):
    key: str
    version: int
    locales: dict[str, dict[str, Any]]
    variants: list[dict[str, Any]]
    created_at: datetime
    warnings: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Pushes that could be longer than a provider allows at their longest, with the numbers.",
    )
    feedback: Feedback


class TemplateList(BaseModel):
    items: list[TemplateOut]


class PreviewIn(Strict):
    user_id: ExternalId
    variables: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    variant: str | None = None
    locale: str | None = Field(default=None, description="Render this locale instead of the user's.")
    channel: Literal["push", "email", "inbox"] = "push"


class PreviewOut(BaseModel):
    key: str
    version: int
    locale: str
    variant: str | None
    parts: dict[str, str]
