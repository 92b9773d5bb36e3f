"""`GET /r/{token}`: the click redirect of Web Push and e-mail links (see `domain/click_links.py`).

A user's click must always land: when the click cannot be recorded (the database
is away, the delivery was erased) the redirect still happens and the failure is
logged. A token pushwise did not sign is a 404: nothing is forwarded anywhere.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import not_found
from pushwise.domain.signed_tokens import TokenInvalid

log = logging.getLogger(__name__)

router = APIRouter(tags=["clicks"])


@router.get("/r/{token}", status_code=302, response_class=RedirectResponse)
async def follow_click(token: str, services: ServicesDep, stores: StoresDep) -> RedirectResponse:
    try:
        target = services.click_links.open(token)
    except TokenInvalid as error:
        raise not_found("link") from error
    now = services.clock.now()
    try:
        await stores.user_events.record_click(target.app_id, target.delivery_id, target.url, now)
    except Exception:  # the user still gets where the link goes
        log.exception("could not record a click of delivery %s", target.delivery_id)
    return RedirectResponse(target.url, status_code=302)
