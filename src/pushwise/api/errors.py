"""One error shape for every answer that is not a success.

`{"error": {"code", "message", "field"?, "details"?}}`: `code` is for programs,
`message` for people, `field` is the dotted path of the offending input. Inputs
are never echoed back (they may be private keys) and stack traces never leave
the process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Send

from pushwise.store.outages import STORAGE_FULL, outage_reason

log = logging.getLogger("pushwise.api")

_CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden_scope",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}
_MESSAGE_OF_STATUS = {404: "no such path", 405: "this path does not accept that method"}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        details: Sequence[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details
        self.headers = headers


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no such {what}")


def error_body(
    code: str, message: str, field: str | None = None, details: Sequence[dict[str, Any]] | None = None
) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if details:
        error["details"] = list(details)
    return orjson.dumps({"error": error})


def error_response(error: ApiError) -> Response:
    return Response(
        error_body(error.code, error.message, error.field, error.details),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


async def send_error(send: Send, error: ApiError) -> None:
    """Answer with `error` straight from ASGI middleware, before (or instead of) the app."""
    body = error_body(error.code, error.message, error.field, error.details)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in (error.headers or {}).items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def field_path(location: Sequence[str | int]) -> str | None:
    """`("body", "devices", 3, "token")` → `devices[3].token` (API.md's spelling); other sources keep
    their name: `query.limit`. A body that is itself a list gives `[0].key`."""
    parts = list(location[1:] if location and location[0] == "body" else location)
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or None


async def _on_api_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error)


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = list(error.errors())
    if any(item["type"] == "json_invalid" for item in errors):
        return error_response(ApiError(400, "malformed_json", "the request body is not valid JSON"))
    if not _is_json(request.headers.get("content-type")) and any(
        tuple(e["loc"]) == ("body",) for e in errors
    ):
        return error_response(ApiError(415, "unsupported_media_type", "send the body as application/json"))
    details = [
        {"field": field_path(item["loc"]), "code": item["type"], "message": item["msg"]} for item in errors
    ]
    first = details[0] if details else {"field": None, "message": "invalid request"}
    message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    return error_response(ApiError(422, "validation_error", message, first["field"], details=details))


def _allowed_methods(request: Request) -> str:
    """The methods of the path the request names: every route of the first matching path template
    (the router names only the first route's, though one path may have a route per method)."""
    contexts = [c for c in iter_route_contexts(request.app.routes) if c.methods and c.path]
    template = next((c.path for c in contexts if compile_path(str(c.path))[0].match(request.url.path)), None)
    return ", ".join(sorted({m for c in contexts if c.path == template for m in c.methods or ()}))


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    status = error.status_code
    headers = dict(error.headers or {})
    if status == 405:
        headers["Allow"] = _allowed_methods(request)
    generic = _MESSAGE_OF_STATUS.get(status)
    message = (
        generic
        if generic is not None
        else (error.detail if isinstance(error.detail, str) else "request refused")
    )
    return error_response(ApiError(status, _CODE_OF_STATUS.get(status, "error"), message, headers=headers))


def logged_path(request: Request) -> str:
    """The path as its route declares it (`/v1/preferences/{token}`): logs never carry the signed
    tokens, user ids or device ids that the real path holds."""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else "(no route)"


async def _on_unexpected(request: Request, error: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, logged_path(request), exc_info=error)
    return error_response(ApiError(500, "internal_error", "the server failed to handle this request"))


async def _on_overload(request: Request, error: Exception) -> Response:
    """No database connection came free in time: the server is overloaded, not broken.

    A 503 with `Retry-After` tells a client to back off and try again, where a 500
    would read as a bug; nothing was written, so a retry is safe.
    """
    log.warning("database connections exhausted on %s %s", request.method, logged_path(request))
    return error_response(
        ApiError(
            503,
            "overloaded",
            "the server is too busy to take this request now; retry shortly",
            headers={"Retry-After": "1"},
        )
    )


async def _on_database_error(request: Request, error: Exception) -> Response:
    """A full disk or an unreachable database: 503 with the reason as the code and `Retry-After`.

    The failed transaction was rolled back, so nothing of the request was kept and a retry is
    safe; everything accepted before stays stored and is delivered once the storage is back.
    Any other database error is a bug: 500.
    """
    reason = outage_reason(error)
    if reason is None:
        return await _on_unexpected(request, error)
    log.warning("%s on %s %s", reason, request.method, logged_path(request))
    message = (
        "the server's storage is full; nothing of this request was kept, retry later"
        if reason == STORAGE_FULL
        else "the database cannot be reached; nothing of this request was kept, retry shortly"
    )
    retry_after = "30" if reason == STORAGE_FULL else "5"
    return error_response(ApiError(503, reason, message, headers={"Retry-After": retry_after}))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(PoolTimeout, _on_overload)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(OSError, _on_database_error)  # a refused connect arrives unwrapped
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
