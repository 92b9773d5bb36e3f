"""What a failed call raises: the server's machine-readable error, after the client's retries."""

from __future__ import annotations

from typing import Any

import httpx
import orjson


class PushwiseError(Exception):
    """An error answer (API.md: `{"error": {"code", "message", "field"}}`), or a request the client
    refused before sending because the server would have refused it the same way (422).

    `status` is the HTTP status and `code` the answer's `error.code`: programs branch on `code`,
    people read `message`.
    """

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        field: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status or 'no answer'} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details or []


class PushwiseConnectionError(PushwiseError):
    """No answer came back (connection refused or lost, timeout), after the retries that were safe."""

    def __init__(self, message: str) -> None:
        super().__init__(None, "connection_failed", message)


def error_of(response: httpx.Response) -> PushwiseError:
    """The error an answer carries; a body that is not pushwise's shape (a proxy's page) still gives
    the status, with `http_<status>` as its code."""
    try:
        error = orjson.loads(response.content)["error"]
        return PushwiseError(
            response.status_code,
            str(error["code"]),
            str(error.get("message", "")),
            error.get("field"),
            error.get("details"),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return PushwiseError(response.status_code, f"http_{response.status_code}", response.reason_phrase)
