"""DESIGN.md section 4, FCM paragraph: one test per row of the FCM error table."""

from __future__ import annotations

from typing import Any

import pytest

from pushwise.domain.fcm_errors import BAD_REQUEST_TYPE, FCM_ERROR_TYPE, classify_fcm
from pushwise.domain.outcomes import OutcomeKind


def fcm_error(
    status: int, rpc_status: str, code: str | None, message: str = "", **extra: Any
) -> dict[str, Any]:
    details: list[dict[str, Any]] = [{"@type": FCM_ERROR_TYPE, "errorCode": code}] if code else []
    details.extend(extra.get("details", []))
    return {"error": {"code": status, "status": rpc_status, "message": message, "details": details}}


def test_row_delivered_keeps_the_message_name() -> None:
    outcome = classify_fcm(200, {"name": "projects/shop/messages/0:123%abc"}, None)
    assert outcome.kind is OutcomeKind.DELIVERED
    assert outcome.provider_message_id == "projects/shop/messages/0:123%abc"


def test_row_unregistered_is_token_dead() -> None:
    outcome = classify_fcm(404, fcm_error(404, "NOT_FOUND", "UNREGISTERED"), None)
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (
        OutcomeKind.TOKEN_DEAD,
        "UNREGISTERED",
        404,
    )


def test_row_invalid_argument_about_the_message_is_permanent() -> None:
    body = fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid value at 'message.data[0].value'")
    outcome = classify_fcm(400, body, None)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "INVALID_ARGUMENT")


def test_row_invalid_argument_naming_the_token_field_is_token_dead() -> None:
    violation = {
        "@type": BAD_REQUEST_TYPE,
        "fieldViolations": [{"field": "message.token", "description": "x"}],
    }
    body = fcm_error(
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        details=[violation],
    )
    assert classify_fcm(400, body, None).kind is OutcomeKind.TOKEN_DEAD


def test_row_invalid_argument_naming_the_token_in_words_is_token_dead() -> None:
    body = fcm_error(
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    )
    assert classify_fcm(400, body, None).kind is OutcomeKind.TOKEN_DEAD


def test_row_sender_id_mismatch_is_token_dead_for_this_project() -> None:
    outcome = classify_fcm(403, fcm_error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), None)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.TOKEN_DEAD, "SENDER_ID_MISMATCH")


def test_row_third_party_auth_error_is_configuration() -> None:
    outcome = classify_fcm(401, fcm_error(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"), None)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "THIRD_PARTY_AUTH_ERROR")


@pytest.mark.parametrize(
    ("status", "rpc_status", "code"),
    [
        (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
        (503, "UNAVAILABLE", "UNAVAILABLE"),
        (500, "INTERNAL", "INTERNAL"),
    ],
)
def test_row_retry_later_honours_retry_after(status: int, rpc_status: str, code: str) -> None:
    outcome = classify_fcm(status, fcm_error(status, rpc_status, code), 42.0)
    assert (outcome.kind, outcome.reason, outcome.retry_after) == (OutcomeKind.RETRY, code, 42.0)


def test_row_expired_access_token_is_refresh_credentials() -> None:
    outcome = classify_fcm(
        401, fcm_error(401, "UNAUTHENTICATED", None, "Request had invalid authentication"), None
    )
    assert (outcome.kind, outcome.reason) == (OutcomeKind.REFRESH_CREDENTIALS, "UNAUTHENTICATED")


def test_row_permission_denied_is_configuration() -> None:
    outcome = classify_fcm(403, fcm_error(403, "PERMISSION_DENIED", None, "Permission denied"), None)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "PERMISSION_DENIED")


def test_retry_after_is_kept_only_on_retry_outcomes() -> None:
    assert classify_fcm(404, fcm_error(404, "NOT_FOUND", "UNREGISTERED"), 30.0).retry_after is None


def test_not_found_without_unregistered_is_configuration() -> None:
    """A 404 with no FCM code means the project in the URL does not exist, not a dead token."""
    assert classify_fcm(404, fcm_error(404, "NOT_FOUND", None), None).kind is OutcomeKind.CONFIGURATION


@pytest.mark.parametrize(
    ("status", "kind"), [(502, OutcomeKind.RETRY), (400, OutcomeKind.PERMANENT), (413, OutcomeKind.PERMANENT)]
)
def test_bodies_that_are_not_google_errors_fall_back_to_the_status(status: int, kind: OutcomeKind) -> None:
    outcome = classify_fcm(status, None, None)
    assert (outcome.kind, outcome.reason) == (kind, f"HTTP{status}")


def test_unspecified_error_code_falls_back_to_the_status() -> None:
    body = fcm_error(503, "UNAVAILABLE", "UNSPECIFIED_ERROR")
    assert (classify_fcm(503, body, None).kind, classify_fcm(503, body, None).reason) == (
        OutcomeKind.RETRY,
        "UNAVAILABLE",
    )
