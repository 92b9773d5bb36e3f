"""Dashboard sessions: a signed cookie instead of a bearer key, with a CSRF token per session.

The cookie holds who logged in (admin, or an app's server key), which key the
session was made from, when the session ends and the session's CSRF token,
signed with HMAC-SHA256 under a key derived from the service's secret key. It is
HttpOnly (scripts cannot read it) and SameSite=Strict (other sites cannot make the
browser send it); forms also carry the CSRF token, checked in constant time, as a
second line.

A session is only as good as its key: `key_ref` names the stored key (its id) or,
for the admin key from the settings, an HMAC fingerprint of it (the cookie is
readable, and a hand-picked admin key may be weak enough to guess from a plain
hash). Every dashboard request re-checks it, so revoking or rotating the key ends
the sessions made from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

from pushwise.store.keys import hash_key

COOKIE = "pushwise_session"
SESSION_SECONDS = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class Session:
    kind: str  # admin | server
    app_id: str | None  # the server key's app; None for admin
    expires_at: float
    csrf: str
    key_ref: str  # "id:<stored key id>" or "settings:<fingerprint of the settings admin key>"

    def may_see(self, app_id: str) -> bool:
        return self.kind == "admin" or self.app_id == app_id


def session_key(secret_key: bytes) -> bytes:
    return hmac.new(secret_key, b"pushwise dashboard session v1", hashlib.sha256).digest()


def new_session(kind: str, app_id: str | None, key_ref: str, now: float) -> Session:
    return Session(kind, app_id, now + SESSION_SECONDS, secrets.token_urlsafe(24), key_ref)


def stored_key_ref(key_id: str) -> str:
    return "id:" + key_id


def settings_admin_ref(admin_key: str, key: bytes) -> str:
    return "settings:" + hmac.new(key, hash_key(admin_key).encode(), hashlib.sha256).hexdigest()[:32]


def seal(session: Session, key: bytes) -> str:
    body = base64.urlsafe_b64encode(
        orjson.dumps(
            {
                "k": session.kind,
                "a": session.app_id,
                "e": session.expires_at,
                "c": session.csrf,
                "r": session.key_ref,
            }
        )
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
        session = Session(str(data["k"]), data["a"], float(data["e"]), str(data["c"]), str(data["r"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires_at > now else None


def csrf_ok(session: Session, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(session.csrf.encode(), token.encode())


def _sign(body: str, key: bytes) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
