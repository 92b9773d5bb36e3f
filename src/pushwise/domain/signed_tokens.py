"""Small signed tokens: user tokens for the client inbox, one-click unsubscribe and preference page links.

`<base64url(JSON claims)>.<base64url(HMAC-SHA256)>`. Each use has its own key,
derived from the server's secret key with a purpose label, so a token minted for
one purpose never validates for another, and no token is ever a decryption key.
Claims are readable by whoever holds the token; they carry ids, never secrets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson


class TokenInvalid(ValueError):
    """Malformed, forged, or signed for another purpose."""


class TokenExpired(TokenInvalid):
    pass


def derive_key(secret_key: bytes, purpose: str) -> bytes:
    return hmac.new(secret_key, b"pushwise/" + purpose.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise TokenInvalid("malformed token") from error


def issue_token(key: bytes, claims: dict[str, Any]) -> str:
    """`claims` may hold `exp` (Unix seconds) to make the token expire."""
    payload = _b64(orjson.dumps(claims))
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def open_token(key: bytes, token: str, *, now: float) -> dict[str, Any]:
    payload, dot, mac = token.partition(".")
    if not dot or not payload or not mac:
        raise TokenInvalid("malformed token")
    expected = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(mac)):
        raise TokenInvalid("token signature does not match")
    try:
        claims = orjson.loads(_unb64(payload))
    except orjson.JSONDecodeError as error:
        raise TokenInvalid("malformed token") from error
    if not isinstance(claims, dict):
        raise TokenInvalid("malformed token")
    expires = claims.get("exp")
    if expires is not None and (not isinstance(expires, int | float) or expires <= now):
        raise TokenExpired("token expired")
    return claims


_USER_TOKEN = "user-token/v1"  # noqa: S105 - a key purpose label, not a secret
_UNSUBSCRIBE = "email-unsubscribe/v1"


def issue_user_token(secret_key: bytes, app_id: str, external_id: str, expires_at: int) -> str:
    """What an app's backend hands its client so it can read that one user's inbox."""
    return issue_token(
        derive_key(secret_key, _USER_TOKEN), {"app": app_id, "sub": external_id, "exp": expires_at}
    )


def open_user_token(secret_key: bytes, token: str, *, now: float) -> tuple[str, str]:
    """(app id, external user id), or raises `TokenInvalid` / `TokenExpired`."""
    claims = open_token(derive_key(secret_key, _USER_TOKEN), token, now=now)
    app_id, external_id = claims.get("app"), claims.get("sub")
    if not isinstance(app_id, str) or not isinstance(external_id, str) or "exp" not in claims:
        raise TokenInvalid("malformed token")
    return app_id, external_id


def issue_unsubscribe_token(secret_key: bytes, app_id: str, user_id: str) -> str:
    """Never expires: an unsubscribe link in an old e-mail must still work (RFC 8058)."""
    return _issue_user_link(secret_key, _UNSUBSCRIBE, app_id, user_id, None)


def open_unsubscribe_token(secret_key: bytes, token: str, *, now: float) -> tuple[str, str]:
    """(app id, internal user id), or raises `TokenInvalid`."""
    return _open_user_link(secret_key, _UNSUBSCRIBE, token, now=now, expiring=False)


_PREFERENCES = "preference-page/v1"


def issue_preference_token(secret_key: bytes, app_id: str, user_id: str, expires_at: int) -> str:
    """The capability behind a hosted preference page link: this user of this app, until `expires_at`."""
    return _issue_user_link(secret_key, _PREFERENCES, app_id, user_id, expires_at)


def open_preference_token(secret_key: bytes, token: str, *, now: float) -> tuple[str, str]:
    """(app id, internal user id), or raises `TokenInvalid` / `TokenExpired`."""
    return _open_user_link(secret_key, _PREFERENCES, token, now=now, expiring=True)


def _issue_user_link(
    secret_key: bytes, purpose: str, app_id: str, user_id: str, expires_at: int | None
) -> str:
    """A link for one user of one app (internal id), for `purpose` only."""
    claims: dict[str, Any] = {"app": app_id, "usr": user_id}
    if expires_at is not None:
        claims["exp"] = expires_at
    return issue_token(derive_key(secret_key, purpose), claims)


def _open_user_link(
    secret_key: bytes, purpose: str, token: str, *, now: float, expiring: bool
) -> tuple[str, str]:
    claims = open_token(derive_key(secret_key, purpose), token, now=now)
    app_id, user_id = claims.get("app"), claims.get("usr")
    if not isinstance(app_id, str) or not isinstance(user_id, str) or (expiring and "exp" not in claims):
        raise TokenInvalid("malformed token")
    return app_id, user_id


_NOTICE_ANSWER = "notice-answer/v1"


def issue_notice_answer_token(secret_key: bytes, app_id: str, user_id: str) -> str:
    """Never expires, like the notice it comes with: answering late is still worth counting."""
    return _issue_user_link(secret_key, _NOTICE_ANSWER, app_id, user_id, None)


def open_notice_answer_token(secret_key: bytes, token: str, *, now: float) -> tuple[str, str]:
    """(app id, internal user id), or raises `TokenInvalid`."""
    return _open_user_link(secret_key, _NOTICE_ANSWER, token, now=now, expiring=False)
