"""`/v1/unsubscribe/{token}`: the one-click e-mail unsubscribe of RFC 8058.

POST (what mail clients send for `List-Unsubscribe-Post: List-Unsubscribe=One-Click`)
records the opt-out at once. GET, what a person's click on the link in the message
sends, shows the user's preference page, with a button to unsubscribe from all e-mail on
top: mail scanners fetch links with GET, and must not unsubscribe people by previewing
their mail (RFC 8058 section 3.2). The page's forms post to a fresh preference link.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pushwise.api.deps import ServicesDep
from pushwise.api.errors import ApiError
from pushwise.api.routes.preference_page import preference_page
from pushwise.api.schemas.preferences import DEFAULT_LINK_SECONDS
from pushwise.domain.signed_tokens import TokenInvalid, issue_preference_token, open_unsubscribe_token
from pushwise.store.recipients import RecipientRepository

router = APIRouter(prefix="/v1/unsubscribe", tags=["e-mail"])

_DONE = "<!doctype html><html><body><p>You are unsubscribed.</p></body></html>"


def _subject(services: ServicesDep, token: str) -> tuple[str, str]:
    try:
        return open_unsubscribe_token(services.secret_key, token, now=services.clock.now())
    except TokenInvalid as error:
        raise ApiError(404, "not_found", "this unsubscribe link is not valid") from error


@router.get("/{token}", response_class=HTMLResponse)
async def confirm_unsubscribe(token: str, request: Request, services: ServicesDep) -> Response:
    app_id, user_id = _subject(services, token)
    expires_at = int(services.clock.now()) + DEFAULT_LINK_SECONDS
    page_token = issue_preference_token(services.secret_key, app_id, user_id, expires_at)
    return await preference_page(request, services, app_id, user_id, page_token, offer_email_unsubscribe=True)


@router.post("/{token}", response_class=HTMLResponse)
async def unsubscribe(token: str, services: ServicesDep) -> HTMLResponse:
    app_id, user_id = _subject(services, token)
    await RecipientRepository(services.db, services.clock).unsubscribe_email(app_id, user_id)
    return HTMLResponse(_DONE, headers={"content-security-policy": "default-src 'none'"})
