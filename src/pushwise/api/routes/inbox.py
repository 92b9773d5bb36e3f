"""`/v1/users/{external_id}/inbox` and `/token` (server key): an app's view of its users' inboxes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Query, Request, status

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.schemas.common import at, row_id
from pushwise.api.schemas.inbox import InboxItemOut, InboxPageOut, UserTokenIn, UserTokenOut
from pushwise.domain.signed_tokens import issue_user_token
from pushwise.store.inbox import InboxRepository
from pushwise.store.inbox_feed import InboxFeed

router = APIRouter(prefix="/v1/users/{external_id}", tags=["inbox"])

ExternalIdPath = Annotated[str, Path(min_length=1, max_length=255)]
Cursor = Annotated[str | None, Query(max_length=32, description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=100)]


def inbox_items(services: ServicesDep) -> InboxRepository:
    return InboxRepository(services.db, services.clock)


def inbox_feed(request: Request) -> InboxFeed:
    return cast(InboxFeed, request.app.state.inbox_feed)


def item_number(item_id: str) -> int:
    """Item ids are decimal; anything else names no item (404, like a wrong user's item)."""
    number = row_id(item_id)
    if number is None:
        raise not_found("inbox item")
    return number


async def inbox_page(
    items: InboxRepository, app_id: str, user_id: str, cursor: str | None, unread: bool, limit: int
) -> InboxPageOut:
    before = row_id(cursor) if cursor is not None else None
    if cursor is not None and before is None:
        raise ApiError(422, "invalid_cursor", "cursor must be a next_cursor from a previous page", "cursor")
    page = await items.page(app_id, user_id, before=before, unread_only=unread, limit=limit + 1)
    more = len(page) > limit
    page = page[:limit]
    return InboxPageOut(
        items=[InboxItemOut.of(item) for item in page],
        next_cursor=str(page[-1].id) if more else None,
        unread_count=await items.unread_count(app_id, user_id),
    )


async def change_read(
    items: InboxRepository, feed: InboxFeed, app_id: str, user_id: str, item_id: str, *, read: bool
) -> InboxItemOut:
    item = await items.mark(app_id, user_id, item_number(item_id), read=read)
    if item is None:
        raise not_found("inbox item")
    feed.publish(app_id, user_id)
    return InboxItemOut.of(item)


async def remove_item(
    items: InboxRepository, feed: InboxFeed, app_id: str, user_id: str, item_id: str
) -> None:
    if not await items.delete(app_id, user_id, item_number(item_id)):
        raise not_found("inbox item")
    feed.publish(app_id, user_id)


@dataclass(frozen=True, slots=True)
class InboxOwner:
    """The app and the (internal) user whose inbox the path names."""

    app_id: str
    user_id: str


async def inbox_owner(external_id: ExternalIdPath, principal: Server, stores: StoresDep) -> InboxOwner:
    app_id = principal.app_id_required
    user = await stores.users.get(app_id, external_id)
    if user is None:
        raise not_found("user")
    return InboxOwner(app_id, user.id)


Owner = Annotated[InboxOwner, Depends(inbox_owner)]


@router.get("/inbox")
async def list_inbox(
    owner: Owner, services: ServicesDep, cursor: Cursor = None, unread: bool = False, limit: Limit = 50
) -> InboxPageOut:
    return await inbox_page(inbox_items(services), owner.app_id, owner.user_id, cursor, unread, limit)


@router.post("/inbox/{item_id}/read")
async def mark_read(owner: Owner, item_id: str, services: ServicesDep, request: Request) -> InboxItemOut:
    items, feed = inbox_items(services), inbox_feed(request)
    return await change_read(items, feed, owner.app_id, owner.user_id, item_id, read=True)


@router.post("/inbox/{item_id}/unread")
async def mark_unread(owner: Owner, item_id: str, services: ServicesDep, request: Request) -> InboxItemOut:
    items, feed = inbox_items(services), inbox_feed(request)
    return await change_read(items, feed, owner.app_id, owner.user_id, item_id, read=False)


@router.delete("/inbox/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(owner: Owner, item_id: str, services: ServicesDep, request: Request) -> None:
    await remove_item(inbox_items(services), inbox_feed(request), owner.app_id, owner.user_id, item_id)


@router.post("/token")
async def issue_token(
    external_id: ExternalIdPath,
    principal: Server,
    services: ServicesDep,
    body: UserTokenIn | None = None,
) -> UserTokenOut:
    """A token for this user's own client. The user need not exist yet: registering the
    client's device with this token creates it."""
    app_id = principal.app_id_required
    expires_at = int(services.clock.now()) + (body or UserTokenIn()).ttl_seconds
    token = issue_user_token(services.secret_key, app_id, external_id, expires_at)
    return UserTokenOut(user_token=token, expires_at=at(expires_at))
