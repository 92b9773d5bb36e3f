"""A deadline for request headers: slow clients must not hold connections open for free.

Uvicorn closes idle keep-alive connections, but a connection that sends its request line and
headers a byte at a time ("slowloris"), or nothing at all after connecting, is never timed out:
enough of them exhaust the server's sockets. The HTTP protocol below (uvicorn's httptools
protocol with one timer more) gives each request `header_seconds` from its connection or its
first byte to finish its headers; past that it answers 408 and closes. The body has its own
deadline, in the ASGI app (`pushwise.api.body_limit`), where it can be answered in JSON.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pushwise.api.errors import error_body

_BODY = error_body("request_timeout", "the request headers did not arrive in time")
_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


def header_deadline_protocol(header_seconds: float) -> type[HttpToolsProtocol]:
    """Uvicorn's `http=` protocol class, with a deadline of `header_seconds` on request headers."""

    class HeaderDeadline(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(header_seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(_ANSWER)
                self.transport.close()

    return HeaderDeadline
