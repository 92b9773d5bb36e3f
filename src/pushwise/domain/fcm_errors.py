"""FCM HTTP v1 replies mapped onto the shared error model.

Source: Firebase, "FCM error codes" (`ErrorCode` enum of the v1 API) and Google's
API error model (`google.rpc.Status`: `code`, `status`, `message`, `details[]`).
A rejection looks like:

    {"error": {"code": 404, "status": "NOT_FOUND", "message": "...",
               "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                            "errorCode": "UNREGISTERED"}]}}

The FCM `errorCode` is the precise word and decides first; the HTTP status and the
google.rpc status only decide when FCM gave no code (an expired OAuth token is a
plain 401 `UNAUTHENTICATED`, a missing IAM permission a plain 403 `PERMISSION_DENIED`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pushwise.domain.outcomes import Outcome, OutcomeKind

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
TOKEN_FIELDS = frozenset({"message.token", "token"})

_KIND_OF_ERROR_CODE = {
    "UNREGISTERED": OutcomeKind.TOKEN_DEAD,
    # The token belongs to another Firebase project: it will never work for this one.
    "SENDER_ID_MISMATCH": OutcomeKind.TOKEN_DEAD,
    # FCM could not authenticate to APNs or Web Push on our behalf: a console setting.
    "THIRD_PARTY_AUTH_ERROR": OutcomeKind.CONFIGURATION,
    "QUOTA_EXCEEDED": OutcomeKind.RETRY,
    "UNAVAILABLE": OutcomeKind.RETRY,
    "INTERNAL": OutcomeKind.RETRY,
}


def classify_fcm(status: int, body: Mapping[str, Any] | None, retry_after: float | None = None) -> Outcome:
    """Map one FCM reply (status, parsed JSON body or None, Retry-After seconds) to an outcome.

    On success `name` (`projects/<id>/messages/<id>`) becomes the provider message id.
    """
    if status == 200:
        name = body.get("name") if body else None
        return Outcome(OutcomeKind.DELIVERED, "", status, None, name if isinstance(name, str) else None)
    error = _error_of(body)
    error_code = _fcm_error_code(error)
    rpc_status = error.get("status") if isinstance(error.get("status"), str) else ""
    kind = _kind_for(status, error_code, error)
    reason = error_code or rpc_status or f"HTTP{status}"
    return Outcome(kind, reason, status, retry_after if kind is OutcomeKind.RETRY else None)


def _kind_for(status: int, error_code: str, error: Mapping[str, Any]) -> OutcomeKind:
    if error_code == "INVALID_ARGUMENT" or (not error_code and status == 400):
        return OutcomeKind.TOKEN_DEAD if names_the_token(error) else OutcomeKind.PERMANENT
    known = _KIND_OF_ERROR_CODE.get(error_code)
    if known is not None:
        return known
    if status == 401:
        # A plain UNAUTHENTICATED: our OAuth access token expired or was revoked.
        return OutcomeKind.REFRESH_CREDENTIALS
    if status in (403, 404):
        # PERMISSION_DENIED (the service account lacks the FCM role) or NOT_FOUND without
        # UNREGISTERED (the project in the URL does not exist): no retry can fix either.
        return OutcomeKind.CONFIGURATION
    if status == 429 or status >= 500:
        return OutcomeKind.RETRY
    return OutcomeKind.PERMANENT


def names_the_token(error: Mapping[str, Any]) -> bool:
    """Whether an INVALID_ARGUMENT blames the registration token rather than the message.

    FCM says so with a `google.rpc.BadRequest` field violation on `message.token`, or
    only in the message text ("The registration token is not a valid FCM registration token").
    """
    for detail in _details(error):
        if detail.get("@type") != BAD_REQUEST_TYPE:
            continue
        violations = detail.get("fieldViolations")
        if isinstance(violations, list) and any(
            isinstance(v, dict) and v.get("field") in TOKEN_FIELDS for v in violations
        ):
            return True
    message = error.get("message")
    return isinstance(message, str) and "registration token" in message.lower()


def _error_of(body: Mapping[str, Any] | None) -> Mapping[str, Any]:
    error = body.get("error") if body else None
    return error if isinstance(error, dict) else {}


def _details(error: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    details = error.get("details")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _fcm_error_code(error: Mapping[str, Any]) -> str:
    for detail in _details(error):
        code = detail.get("errorCode")
        if detail.get("@type") == FCM_ERROR_TYPE and isinstance(code, str) and code != "UNSPECIFIED_ERROR":
            return code
    return ""
