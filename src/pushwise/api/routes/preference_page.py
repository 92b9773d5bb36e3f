"""`/v1/preferences/{token}`: a user's hosted preference page, behind a signed link.

GET shows the page in the user's language; POST (the page's own form, guarded against
cross-site posts) stores the change and answers with a redirect to the page (post,
redirect, get), so a reload never posts twice. No JavaScript anywhere.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from pushwise.api.deps import ServicesDep
from pushwise.bootstrap import Services
from pushwise.domain.signed_tokens import TokenInvalid, open_preference_token
from pushwise.hosted import csrf
from pushwise.hosted.links import PREFERENCE_PAGE_PATH
from pushwise.hosted.preference_page import FormRefused, change_from_form, page_view
from pushwise.hosted.render import message, page
from pushwise.hosted.words import PageWords, words_for
from pushwise.store.apps import AppRepository
from pushwise.store.devices import DeviceRepository
from pushwise.store.preferences import PreferenceRepository, UserPreferences
from pushwise.store.recipients import RecipientRepository
from pushwise.store.routes import CHANNEL_OF_PLATFORM

router = APIRouter(prefix=PREFERENCE_PAGE_PATH, include_in_schema=False)


async def preference_page(
    request: Request,
    services: Services,
    app_id: str,
    user_id: str,
    page_token: str,
    *,
    saved: bool = False,
    error: str | None = None,
    offer_email_unsubscribe: bool = False,
) -> Response:
    """The page for `user_id`, its forms posting to the page of `page_token` (a preference link)."""
    found = await PreferenceRepository(services.db, services.clock).of_user_id(app_id, user_id)
    words = _words(request, found)
    app = await AppRepository(services.db, services.clock).get(app_id)
    if found is None or app is None:
        return await message(words, words.invalid_link, status=404)
    cookie = request.cookies.get(csrf.COOKIE) or csrf.new_cookie()
    view = page_view(found.categories, found.preferences, await _reachable(services, app_id, found))
    response = await page(
        "preferences.html",
        words,
        status=400 if error else 200,
        app_name=app.name,
        view=view,
        action=f"{PREFERENCE_PAGE_PATH}/{page_token}",
        guard=csrf.form_field(services.secret_key, cookie, page_token),
        saved=saved,
        error=error,
        offer_email_unsubscribe=offer_email_unsubscribe and found.email is not None,
    )
    csrf.remember(response, cookie, secure=request.url.scheme == "https")
    return response


@router.get("/{token}")
async def show_preferences(token: str, request: Request, services: ServicesDep) -> Response:
    subject = _subject(services, token)
    if subject is None:
        words = _words(request, None)
        return await message(words, words.invalid_link, status=404)
    app_id, user_id = subject
    saved = "saved" in request.query_params
    return await preference_page(request, services, app_id, user_id, token, saved=saved)


@router.post("/{token}")
async def change_preferences(token: str, request: Request, services: ServicesDep) -> Response:
    subject = _subject(services, token)
    repository = PreferenceRepository(services.db, services.clock)
    found = await repository.of_user_id(*subject) if subject is not None else None
    words = _words(request, found)
    if subject is None or found is None:
        return await message(words, words.invalid_link, status=404)
    app_id, user_id = subject
    form = parse_qs((await request.body()).decode(errors="replace"), keep_blank_values=True)
    if not csrf.form_ok(services.secret_key, request.cookies.get(csrf.COOKIE), token, _one(form, "guard")):
        return await message(words, words.stale_form, status=403)
    if _one(form, "action") == "unsubscribe_email":
        await RecipientRepository(services.db, services.clock).unsubscribe_email(app_id, user_id)
        return RedirectResponse(f"{PREFERENCE_PAGE_PATH}/{token}?saved=1", status_code=303)
    current = page_view(found.categories, found.preferences, await _reachable(services, app_id, found))
    try:
        change = change_from_form(form, current)
    except FormRefused:
        return await preference_page(request, services, app_id, user_id, token, error=words.both_times)
    await repository.change(app_id, user_id, change)
    return RedirectResponse(f"{PREFERENCE_PAGE_PATH}/{token}?saved=1", status_code=303)


def _subject(services: Services, token: str) -> tuple[str, str] | None:
    try:
        return open_preference_token(services.secret_key, token, now=services.clock.now())
    except TokenInvalid:
        return None


def _words(request: Request, found: UserPreferences | None) -> PageWords:
    return words_for(found.locale if found else None, request.headers.get("accept-language"))


def _one(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[-1] if values else None


async def _reachable(services: Services, app_id: str, found: UserPreferences) -> set[str]:
    """The channels the user can be reached on now: their active devices' and e-mail if known."""
    devices = await DeviceRepository(services.db, services.clock).list_for_user(app_id, found.user_id)
    channels = {d.vendor or CHANNEL_OF_PLATFORM.get(d.platform, d.platform) for d in devices if d.active}
    return channels | ({"email"} if found.email else set())
