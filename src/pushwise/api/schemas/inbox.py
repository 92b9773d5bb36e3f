"""The in-app inbox: items, pages and user tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import Strict, at
from pushwise.store.inbox import InboxItem

MAX_TOKEN_TTL = 30 * 24 * 3600


class InboxItemOut(BaseModel):
    id: str
    notification_id: str | None
    title: str | None
    body: str | None
    data: dict[str, Any]
    url: str | None
    read: bool
    created_at: datetime

    @classmethod
    def of(cls, item: InboxItem) -> InboxItemOut:
        return cls(
            id=str(item.id),
            notification_id=item.notification_id,
            title=item.title,
            body=item.body,
            data=item.data,
            url=item.url,
            read=item.read,
            created_at=at(item.created_at),
        )


class InboxPageOut(BaseModel):
    items: list[InboxItemOut]
    next_cursor: str | None
    unread_count: int


class UserTokenIn(Strict):
    ttl_seconds: Annotated[int, Field(ge=60, le=MAX_TOKEN_TTL)] = 24 * 3600


class UserTokenOut(BaseModel):
    user_token: str
    expires_at: datetime
