"""`POST /v1/events`: user events in batches; server key, or client key plus the user's token.

A batch is stored whole or not at all: one bad event refuses it with the event's
index in `field` (`events[3].type`), so a client can fix and resend the batch
without wondering which half went in. Repeated event ids are stored once, so a
client may resend a batch whose answer it never saw.
"""

from __future__ import annotations

from fastapi import APIRouter

from pushwise.api.auth import ClientOrServer
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import ApiError
from pushwise.api.schemas.events import EventsIn, EventsOut
from pushwise.api.user_tokens import UserTokenHeader, token_user
from pushwise.store.user_events import EventRefused, NewEvent

router = APIRouter(prefix="/v1/events", tags=["events"])

# Client clocks run a little fast; an event further in the future is a bug, not a clock.
FUTURE_TOLERANCE_SECONDS = 300.0


@router.post("")
async def post_events(
    body: EventsIn,
    principal: ClientOrServer,
    services: ServicesDep,
    stores: StoresDep,
    user_token: UserTokenHeader = None,
) -> EventsOut:
    app_id = principal.app_id_required
    now = services.clock.now()
    own_user = (
        token_user(principal, user_token, secret_key=services.secret_key, now=now)
        if principal.kind == "client"
        else None
    )
    events = []
    for index, event in enumerate(body.events):
        if own_user is not None and event.user_id != own_user:
            raise ApiError(
                403,
                "forbidden_user",
                "a user token posts only that user's events",
                f"events[{index}].user_id",
            )
        at = event.at.timestamp() if event.at is not None else now
        if at > now + FUTURE_TOLERANCE_SECONDS:
            raise ApiError(422, "event_in_future", "the event's time is in the future", f"events[{index}].at")
        events.append(
            NewEvent(
                index=index,
                key=event.id,
                type=event.type,
                user=event.user_id,
                at=at,
                notification_id=event.notification_id,
                delivery_id=event.delivery_id,
                category=event.category,
                value=event.value,
                currency=event.currency,
                properties=event.properties,
            )
        )
    try:
        result = await stores.user_events.ingest(app_id, events, now)
    except EventRefused as refused:
        raise ApiError(422, refused.code, refused.message, refused.field) from refused
    return EventsOut(accepted=result.accepted, duplicates=result.duplicates, late=result.late)
