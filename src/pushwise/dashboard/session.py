"""Dashboard sessions: a signed cookie instead of a bearer key, with a CSRF token per session.

The cookie holds who logged in (admin, or an app's server key), when the session
ends and the session's CSRF token, signed with HMAC-SHA256 under a key derived
from the service's secret key. It is HttpOnly (scripts cannot read it) and
SameSite=Strict (other sites cannot make the browser send it); forms also carry
the CSRF token, checked in constant time, as a second line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

COOKIE = "pushwise_session"
SESSION_SECONDS = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class Session:
    kind: str  # admin | server
    app_id: str | None  # the server key's app; None for admin
    expires_at: float
    csrf: str

    def may_see(self, app_id: str) -> bool:
        return self.kind == "admin" or self.app_id == app_id


def session_key(secret_key: bytes) -> bytes:
    return hmac.new(secret_key, b"pushwise dashboard session v1", hashlib.sha256).digest()


def new_session(kind: str, app_id: str | None, now: float) -> Session:
    return Session(kind, app_id, now + SESSION_SECONDS, secrets.token_urlsafe(24))


def seal(session: Session, key: bytes) -> str:
    body = base64.urlsafe_b64encode(
        orjson.dumps({"k": session.kind, "a": session.app_id, "e": session.expires_at, "c": session.csrf})
    ).decode()
    return f"{body}.{_sign(body, key)}"


def open_session(cookie: str | None, key: bytes, now: float) -> Session | None:
    if not cookie or "." not in cookie:
        return None
    body, signature = cookie.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(body, key)):
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(body.encode()))
        session = Session(str(data["k"]), data["a"], float(data["e"]), str(data["c"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires_at > now else None


def csrf_ok(session: Session, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(session.csrf.encode(), token.encode())


def _sign(body: str, key: bytes) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
