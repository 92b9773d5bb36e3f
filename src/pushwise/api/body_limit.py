"""Refuse request bodies larger than `max_bytes` (413) or slower than `timeout_seconds` (408).

A pure ASGI middleware (Starlette's `BaseHTTPMiddleware` adds a task and a
stream copy per request). A declared `Content-Length` is checked up front: the
HTTP server itself stops a body at its declared length. Chunked bodies, whose
size is unknown, are counted while they arrive.

A body is read whole before the app sees it, under one deadline from the moment the headers
were complete: a client trickling its body must not hold a request (and the database
connection a handler may already hold) open for as long as it likes. The headers have their
own deadline in the HTTP protocol (`pushwise.api.slow_clients`). A body that is late is
answered with 408 and the connection closed.

A JSON body with an integer outside the signed 64-bit range is refused with 422 here, once for
every route: both engines store at most 64-bit integers, and orjson writes no larger, so such a
number would otherwise fail deep in a store as a server error. Only bodies with a run of 19 or
more digits are parsed for this, so the cost on ordinary requests is one scan of the bytes.

A size refusal keeps the connection open: the server then reads and discards the
rest of the body (never buffering it), so a client that writes its whole request
before reading the answer sees the 413 instead of a reset connection.
"""

from __future__ import annotations

import asyncio
import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushwise.api.errors import ApiError, send_error

_LONG_NUMBER = re.compile(rb"\d{19}")
_INT64 = range(-(2**63), 2**63)


class _OutOfRange(ValueError):
    pass


def _int64(text: str) -> int:
    value = int(text)
    if value not in _INT64:
        raise _OutOfRange(text)
    return value


def has_oversized_integer(body: bytes) -> bool:
    """Whether a JSON body holds an integer beyond 64 bits (not a digit run inside a string)."""
    if _LONG_NUMBER.search(body) is None:
        return False
    try:
        json.loads(body, parse_int=_int64)
    except _OutOfRange:
        return True
    except ValueError:  # not JSON: the app answers that
        return False
    return False


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = _framing(scope["headers"])
        if length is not None and length > self.max_bytes:
            await self._refuse(send)
            return
        if not chunked and not length:
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.timeout_seconds):
                body = await self._read(receive)
        except TimeoutError:
            late = ApiError(
                408,
                "request_timeout",
                "the request body did not arrive in time",
                headers={"connection": "close"},
            )
            await send_error(send, late)
            return
        if body is None:
            return  # the client went away before finishing its body
        if len(body) > self.max_bytes:
            await self._refuse(send)
            return
        if has_oversized_integer(body):
            message = "a number in the body is outside the 64-bit integer range"
            await send_error(send, ApiError(422, "number_out_of_range", message))
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None if the client left; stops counting past `max_bytes`."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.max_bytes or not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, send: Send) -> None:
        await send_error(
            send, ApiError(413, "body_too_large", f"the request body exceeds {self.max_bytes} bytes")
        )


def _framing(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, bool]:
    length: int | None = None
    chunked = False
    for name, value in headers:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    return length, chunked


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
