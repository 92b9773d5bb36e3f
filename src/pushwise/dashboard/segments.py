"""`/dashboard/segments`: the app's saved segments, and a preview of any rule (count and 20 users).

Read-only, so a plain GET form: the rule travels in the query string and the page can be
bookmarked or shared; nothing here changes state, so it needs no CSRF token.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from pushwise.dashboard.routes import _context, _page, _services
from pushwise.domain.audience.rule_parser import parse_rule
from pushwise.domain.audience.rules import RuleError
from pushwise.store.segments import Preview

router = APIRouter(prefix="/dashboard", include_in_schema=False)
MAX_RULE_CHARACTERS = 20_000
EXAMPLE = {
    "all": [
        {"field": "interests.shoes", "op": ">", "value": 0.3},
        {"field": "country", "op": "=", "value": "DE"},
        {"field": "last_active_days", "op": "<", "value": 30},
    ]
}


@router.get("/segments")
async def segment_preview(request: Request) -> Response:
    context = await _context(request)
    if isinstance(context, Response):
        return context
    app_id, segments = context["app_id"], _services(request).engine.segments
    saved = await segments.list(app_id, after=None, limit=200) if app_id else []
    text = request.query_params.get("rule", "")
    chosen = next((s for s in saved if s.id == request.query_params.get("segment")), None)
    if chosen is not None and not text:
        text = orjson.dumps(chosen.rule, option=orjson.OPT_INDENT_2).decode()
    preview: Preview | None = None
    error: tuple[str, str] | None = None
    if text and app_id:
        try:
            preview = await segments.preview(app_id, parse_rule(_decoded(text)))
        except RuleError as refused:
            error = (refused.path, refused.message)
    shown = text or orjson.dumps(EXAMPLE, option=orjson.OPT_INDENT_2).decode()
    return await _page(
        request,
        "segments.html",
        saved=saved,
        chosen=chosen,
        rule_text=shown,
        preview=preview,
        error=error,
        **context,
    )


def _decoded(text: str) -> Any:
    if len(text) > MAX_RULE_CHARACTERS:
        raise RuleError("rule", f"a rule is at most {MAX_RULE_CHARACTERS:,} characters of JSON")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise RuleError("rule", f"not JSON: {error}") from error
