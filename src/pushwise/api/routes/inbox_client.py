"""`/v1/inbox`: a user's own inbox, for the app's client key plus that user's token.

The stream (`GET /v1/inbox/stream`, Server-Sent Events) sends `unread_count` at
once and whenever it changes, and every new item as an `item` event whose SSE
`id` is the item id, so a reconnecting `EventSource` (which sends
`Last-Event-ID`) gets what it missed. It wakes on in-process change signals and
re-reads the database every `inbox_poll_seconds` for writes by other processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, status
from fastapi.responses import StreamingResponse

from pushwise.api.auth import ClientOrServer
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import not_found
from pushwise.api.routes.inbox import (
    Cursor,
    Limit,
    change_read,
    inbox_feed,
    inbox_items,
    inbox_page,
    remove_item,
)
from pushwise.api.schemas.inbox import InboxItemOut, InboxPageOut
from pushwise.api.user_tokens import UserTokenHeader, token_user
from pushwise.store.inbox import InboxRepository
from pushwise.store.inbox_feed import InboxFeed

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])

_KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class InboxOwner:
    app_id: str
    user_id: str


async def inbox_owner(
    principal: ClientOrServer, services: ServicesDep, stores: StoresDep, token: UserTokenHeader = None
) -> InboxOwner:
    external_id = token_user(principal, token, secret_key=services.secret_key, now=services.clock.now())
    user = await stores.users.get(principal.app_id_required, external_id)
    if user is None:
        raise not_found("user")
    return InboxOwner(user.app_id, user.id)


Owner = Annotated[InboxOwner, Depends(inbox_owner)]
Items = Annotated[InboxRepository, Depends(inbox_items)]
Feed = Annotated[InboxFeed, Depends(inbox_feed)]


@router.get("")
async def my_inbox(
    owner: Owner, items: Items, cursor: Cursor = None, unread: bool = False, limit: Limit = 50
) -> InboxPageOut:
    return await inbox_page(items, owner.app_id, owner.user_id, cursor, unread, limit)


@router.post("/{item_id}/read")
async def read_mine(item_id: str, owner: Owner, items: Items, feed: Feed) -> InboxItemOut:
    return await change_read(items, feed, owner.app_id, owner.user_id, item_id, read=True)


@router.post("/{item_id}/unread")
async def unread_mine(item_id: str, owner: Owner, items: Items, feed: Feed) -> InboxItemOut:
    return await change_read(items, feed, owner.app_id, owner.user_id, item_id, read=False)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_mine(item_id: str, owner: Owner, items: Items, feed: Feed) -> None:
    await remove_item(items, feed, owner.app_id, owner.user_id, item_id)


def _event(name: str, data: bytes, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\n".encode() + b"data: " + data + b"\n\n"


async def _events(
    owner: InboxOwner, items: InboxRepository, feed: InboxFeed, after: int, poll_seconds: float
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    unread: int | None = None
    quiet_since = loop.time()
    with feed.subscribe(owner.app_id, owner.user_id) as changed:
        while True:
            changed.clear()
            for item in await items.newer_than(owner.app_id, owner.user_id, after):
                after = item.id
                yield _event("item", InboxItemOut.of(item).model_dump_json().encode(), item.id)
            count = await items.unread_count(owner.app_id, owner.user_id)
            if count != unread:
                unread = count
                yield _event("unread_count", orjson.dumps({"unread_count": count}))
            try:
                await asyncio.wait_for(changed.wait(), poll_seconds)
            except TimeoutError:
                if loop.time() - quiet_since >= _KEEPALIVE_SECONDS:
                    quiet_since = loop.time()
                    yield b": keepalive\n\n"


@router.get("/stream", response_class=StreamingResponse)
async def stream_inbox(
    owner: Owner,
    items: Items,
    feed: Feed,
    services: ServicesDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=19)] = None,
) -> StreamingResponse:
    after = (
        int(last_event_id)
        if last_event_id and last_event_id.isdigit()
        else await items.latest_id(owner.app_id, owner.user_id)
    )
    return StreamingResponse(
        _events(owner, items, feed, after, services.settings.inbox_poll_seconds),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
