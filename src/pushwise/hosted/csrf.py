"""Cross-site request forgery guard for the hosted pages' forms, without JavaScript.

Double submit: the page sets a random cookie (`SameSite=Strict`, so a form posted from
another site arrives without it) and puts into its form a MAC of that cookie and the page's
own link token. A post is taken only when the field matches the cookie it came with: another
site can neither read the cookie nor compute the field, and a field lifted from one page does
not fit another user's link.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.responses import Response

from pushwise.domain.signed_tokens import derive_key

COOKIE = "pushwise_page_guard"
COOKIE_PATH = "/v1"
_PURPOSE = "hosted-page-csrf/v1"


def new_cookie() -> str:
    return secrets.token_urlsafe(24)


def form_field(secret_key: bytes, cookie: str, page_token: str) -> str:
    message = f"{cookie}.{page_token}".encode()
    return hmac.new(derive_key(secret_key, _PURPOSE), message, hashlib.sha256).hexdigest()


def form_ok(secret_key: bytes, cookie: str | None, page_token: str, field: str | None) -> bool:
    if not cookie or not field:
        return False
    return hmac.compare_digest(form_field(secret_key, cookie, page_token), field)


def remember(response: Response, cookie: str, *, secure: bool) -> None:
    """Set (or renew) the page's cookie: script cannot read it, other sites' requests do not carry it."""
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", secure=secure, path=COOKIE_PATH)
