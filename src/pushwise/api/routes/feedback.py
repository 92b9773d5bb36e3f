"""`GET /v1/feedback?by=`: an app's feedback counts per campaign, category or template (server key).

Per category is the view only this route gives (a category is not an object with a page of its
own); per campaign and per template the same counts are also on each one's `GET`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pushwise.api.auth import Server
from pushwise.api.deps import StoresDep
from pushwise.api.schemas.feedback import FeedbackBy, FeedbackByOut, FeedbackEntryOut

router = APIRouter(prefix="/v1/feedback", tags=["audience"])


@router.get("")
async def feedback_by(
    by: Annotated[FeedbackBy, Query()], principal: Server, stores: StoresDep
) -> FeedbackByOut:
    """Every key of the dimension with any feedback, and its counts by event type."""
    found = await stores.feedback.by_key(principal.app_id_required, by)
    return FeedbackByOut(by=by, items=[FeedbackEntryOut(key=k, feedback=v) for k, v in found.items()])
