"""`/v1/apps/{app_id}/failure-notice`: an app's own words for the failure notice, per locale,
with an optional variant for users who turned notifications off in their device's settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import Locale, Strict


class NoticeWordsIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=1000)] = Field(
        description="Jinja2 template; variables: app_name, user_id (the user's external id), locale."
    )
    body: Annotated[str, Field(min_length=1, max_length=5000)]


class NoticeTextIn(NoticeWordsIn):
    permission_denied: NoticeWordsIn | None = Field(
        default=None,
        description="The words when the user turned notifications off in the device's settings; "
        "without it, `title` and `body` serve both causes.",
    )


class FailureNoticeIn(Strict):
    templates: dict[Locale, NoticeTextIn] = Field(
        min_length=1,
        max_length=100,
        description="By locale (`en`, `de`, `pt-BR`); locales left out use the built-in text.",
    )


class NoticeWordsOut(BaseModel):
    title: str
    body: str


class NoticeTextOut(NoticeWordsOut):
    permission_denied: NoticeWordsOut | None = None  # left out of the answer when not given


class FailureNoticeOut(BaseModel):
    templates: dict[str, NoticeTextOut]
    builtin_locales: list[str]
    updated_at: datetime


class NoticeAnswersOut(BaseModel):
    answers: dict[str, int] = Field(
        description='Users per answer to "why did you turn notifications off?" (a user counts once, '
        "with their latest answer): too_many, not_relevant, wrong_time, other."
    )
    total: int
