"""`/v1/notice-answers/{token}`: the failure notice's "why did you turn notifications off?".

The signed link in the notice names the app and the user. An app that shows its own buttons
posts `{"answer": "too_many"}` as JSON (one tap; a cross-site page cannot send JSON without a
CORS preflight this server never grants). Opened in a browser, it is a page with one button
per answer: a plain form, guarded like the preference page, answered by a thank-you page.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from pushwise.api.deps import ServicesDep
from pushwise.api.errors import ApiError
from pushwise.bootstrap import Services
from pushwise.domain.notice_answers import ANSWERS, answer_words
from pushwise.domain.signed_tokens import TokenInvalid, open_notice_answer_token
from pushwise.hosted import csrf
from pushwise.hosted.links import NOTICE_ANSWER_PATH
from pushwise.hosted.render import message, page
from pushwise.hosted.words import PageWords, words_for
from pushwise.store.notice_answers import NoticeAnswers
from pushwise.store.preferences import PreferenceRepository

router = APIRouter(prefix=NOTICE_ANSWER_PATH, include_in_schema=False)


@router.get("/{token}")
async def show_question(token: str, request: Request, services: ServicesDep) -> Response:
    subject = _subject(services, token)
    words = await _words(request, services, subject)
    if subject is None:
        return await message(words, words.invalid_link, status=404)
    cookie = request.cookies.get(csrf.COOKIE) or csrf.new_cookie()
    response = await page(
        "notice_answer.html",
        words,
        answer=answer_words(words.lang),
        action=f"{NOTICE_ANSWER_PATH}/{token}",
        guard=csrf.form_field(services.secret_key, cookie, token),
        chosen="answered" in request.query_params,
    )
    csrf.remember(response, cookie, secure=request.url.scheme == "https")
    return response


@router.post("/{token}")
async def answer_question(token: str, request: Request, services: ServicesDep) -> Response:
    subject = _subject(services, token)
    as_json = request.headers.get("content-type", "").split(";")[0].strip() == "application/json"
    if subject is None:
        if as_json:
            raise ApiError(404, "not_found", "this answer link is not valid")
        words = await _words(request, services, None)
        return await message(words, words.invalid_link, status=404)
    app_id, user_id = subject
    answers = NoticeAnswers(services.db, services.clock)
    if as_json:
        chosen = _json_answer(await request.body())
        if not await answers.record(app_id, user_id, chosen):
            raise ApiError(404, "not_found", "this answer link is not valid")
        return JSONResponse({"answer": chosen})
    words = await _words(request, services, subject)
    form = parse_qs((await request.body()).decode(errors="replace"))
    guard = (form.get("guard") or [""])[-1]
    if not csrf.form_ok(services.secret_key, request.cookies.get(csrf.COOKIE), token, guard):
        return await message(words, words.stale_form, status=403)
    chosen_form = (form.get("answer") or [""])[-1]
    if chosen_form not in ANSWERS or not await answers.record(app_id, user_id, chosen_form):
        return await message(words, words.invalid_link, status=404)
    return RedirectResponse(f"{NOTICE_ANSWER_PATH}/{token}?answered=1", status_code=303)


def _json_answer(body: bytes) -> str:
    try:
        given = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, "malformed_json", "the request body is not valid JSON") from error
    chosen = given.get("answer") if isinstance(given, dict) else None
    if chosen not in ANSWERS:
        raise ApiError(422, "unknown_answer", f"answer is one of {', '.join(ANSWERS)}", "answer")
    return str(chosen)


def _subject(services: Services, token: str) -> tuple[str, str] | None:
    try:
        return open_notice_answer_token(services.secret_key, token, now=services.clock.now())
    except TokenInvalid:
        return None


async def _words(request: Request, services: Services, subject: tuple[str, str] | None) -> PageWords:
    locale = None
    if subject is not None:
        user = await PreferenceRepository(services.db, services.clock).of_user_id(*subject)
        locale = user.locale if user is not None else None
    return words_for(locale, request.headers.get("accept-language"))
