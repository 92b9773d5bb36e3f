"""`/v1/apps/{app_id}/failure-notice`: an app's own words for the failure notice, per locale."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import Locale, Strict


class NoticeTextIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=1000)] = Field(
        description="Jinja2 template; variables: app_name, user_id (the user's external id), locale."
    )
    body: Annotated[str, Field(min_length=1, max_length=5000)]


class FailureNoticeIn(Strict):
    templates: dict[Locale, NoticeTextIn] = Field(
        min_length=1,
        max_length=100,
        description="By locale (`en`, `de`, `pt-BR`); locales left out use the built-in text.",
    )


class NoticeTextOut(BaseModel):
    title: str
    body: str


class FailureNoticeOut(BaseModel):
    templates: dict[str, NoticeTextOut]
    builtin_locales: list[str]
    updated_at: datetime
