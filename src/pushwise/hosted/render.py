"""Rendering of the hosted pages: autoescaped templates, one inline stylesheet allowed by its hash.

The link token sits in the page's URL, so nothing may carry it elsewhere: no referrer, no
caching, no third-party resource, no script at all, forms only to this server.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from pushwise.hosted.words import PageWords

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}"
    "main{max-width:46rem;margin:0 auto;padding:1.5rem}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{padding:.5rem;border-bottom:1px solid #e3e6ea;text-align:center}"
    "tbody th{text-align:left;font-weight:600}small{font-weight:400;color:#59636e}"
    "input[type=checkbox]{width:1.25rem;height:1.25rem}"
    "label.channel{display:block;margin:.25rem 0}"
    ".note{color:#59636e}.saved{background:#e6f4ea;padding:.5rem}.error{background:#fdecea;padding:.5rem}"
    "button{font:inherit;padding:.5rem 1.25rem;margin:.25rem 0}"
    ".unsubscribe{background:#fff;padding:.75rem;border:1px solid #e3e6ea}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
HEADERS = {
    "content-security-policy": f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}

_TEMPLATES = Environment(
    loader=PackageLoader("pushwise.hosted", "templates"), autoescape=select_autoescape(), enable_async=True
)


async def page(name: str, words: PageWords, *, status: int = 200, **context: Any) -> HTMLResponse:
    html = await _TEMPLATES.get_template(name).render_async(words=words, style=STYLE, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


async def message(words: PageWords, text: str, *, status: int) -> HTMLResponse:
    return await page("message.html", words, status=status, message=text)
