"""CORS for the calls a web page makes with a client key (the Web SDK), and for nothing else.

A website on its own origin calls pushwise with `Authorization` and `X-Pushwise-User-Token`
headers, which browsers only send cross-origin after a granted preflight. Only the routes a
client key may call are opened (registering devices, events, the user's inbox, the VAPID public
key), to the origins in `sdk_allowed_origins`: every other route (server and admin keys, the
dashboard, the hosted pages) keeps answering no preflight, as before. No credentials mode: the
keys travel in headers, never in cookies, so a page can only use the keys it already holds.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# Path prefixes a client key may call (see API.md "Credentials").
SDK_PATHS = ("/v1/devices", "/v1/events", "/v1/inbox", "/v1/webpush/")
ALLOWED_HEADERS = ["authorization", "content-type", "x-pushwise-user-token", "last-event-id"]


def parse_origins(setting: str) -> list[str]:
    """`"https://a.example, https://b.example"` or `"*"` (any origin); empty: CORS off."""
    return [origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip()]


class SdkCors:
    """Starlette's CORS middleware, applied to the SDK's paths only."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=ALLOWED_HEADERS,
            expose_headers=["retry-after"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        handler = self._cors if path.startswith(SDK_PATHS) else self._app
        await handler(scope, receive, send)
