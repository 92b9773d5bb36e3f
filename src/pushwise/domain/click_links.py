"""Clicks without an SDK: links in Web Push and e-mail go through pushwise's signed redirect.

`/r/<token>` records a `clicked` event for the delivery and forwards to the link.
The token is signed with a key of its own (derived from the server's secret) and
carries the app, the delivery and the target URL, so nobody can make pushwise
redirect to a URL it did not put in a message: no open redirect. The link never
expires (an old e-mail's link must still go somewhere); it reveals the delivery
id, which is no secret. Only web links (`http`, `https`) are wrapped.
"""

from __future__ import annotations

from dataclasses import dataclass

from pushwise.domain.signed_tokens import TokenInvalid, derive_key, issue_token, open_token

_PURPOSE = "click-redirect/v1"
REDIRECT_PATH = "/r/"


@dataclass(frozen=True, slots=True)
class ClickTarget:
    app_id: str
    delivery_id: int
    url: str


class ClickLinks:
    """Wraps links for one server: its secret and the public address users reach it at."""

    def __init__(self, secret_key: bytes, public_base_url: str) -> None:
        self._key = derive_key(secret_key, _PURPOSE)
        self._base = public_base_url.rstrip("/") + REDIRECT_PATH

    def wrap(self, app_id: str, delivery_id: int, url: str | None) -> str | None:
        if not url or not url.lower().startswith(("https://", "http://")):
            return url
        return self._base + issue_token(self._key, {"a": app_id, "d": delivery_id, "u": url})

    def open(self, token: str) -> ClickTarget:
        claims = open_token(self._key, token, now=0.0)
        app_id, delivery_id, url = claims.get("a"), claims.get("d"), claims.get("u")
        if not isinstance(app_id, str) or not isinstance(delivery_id, int) or not isinstance(url, str):
            raise TokenInvalid("malformed click token")
        return ClickTarget(app_id, delivery_id, url)
