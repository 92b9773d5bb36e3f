"""FCM's error replies, byte for byte in shape: google.rpc status plus an `FcmError` detail.

Source: Firebase, "FCM error codes" (`ErrorCode`, the HTTP status and google.rpc
status each comes with). The simulator answers an injected code with exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pushwise.domain.fcm_errors import BAD_REQUEST_TYPE, FCM_ERROR_TYPE


@dataclass(frozen=True, slots=True)
class ErrorCode:
    status: int
    rpc_status: str
    message: str


ERROR_CODES: dict[str, ErrorCode] = {
    "UNREGISTERED": ErrorCode(404, "NOT_FOUND", "Requested entity was not found."),
    "INVALID_ARGUMENT": ErrorCode(400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
    "SENDER_ID_MISMATCH": ErrorCode(403, "PERMISSION_DENIED", "SenderId mismatch"),
    "THIRD_PARTY_AUTH_ERROR": ErrorCode(401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"),
    "QUOTA_EXCEEDED": ErrorCode(
        429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'."
    ),
    "UNAVAILABLE": ErrorCode(503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": ErrorCode(500, "INTERNAL", "Internal error encountered."),
}
# FCM asks senders to honour Retry-After on these.
RETRY_AFTER_CODES = frozenset({"QUOTA_EXCEEDED", "UNAVAILABLE"})


def fcm_error(code: str, message: str | None = None, violations: dict[str, str] | None = None) -> bytes:
    """The body for an FCM error code; `violations` (field -> description) adds a BadRequest detail."""
    known = ERROR_CODES[code]
    details: list[dict[str, Any]] = [{"@type": FCM_ERROR_TYPE, "errorCode": code}]
    if violations:
        details.append(
            {
                "@type": BAD_REQUEST_TYPE,
                "fieldViolations": [{"field": f, "description": d} for f, d in violations.items()],
            }
        )
    return _status_body(known.status, known.rpc_status, message or known.message, details)


def rpc_error(status: int, rpc_status: str, message: str) -> bytes:
    """A Google API error without an FCM code: bad OAuth token, missing permission, unknown route."""
    return _status_body(status, rpc_status, message, [])


def _status_body(status: int, rpc_status: str, message: str, details: list[dict[str, Any]]) -> bytes:
    error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if details:
        error["details"] = details
    return orjson.dumps({"error": error})
