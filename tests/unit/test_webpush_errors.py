"""The Web Push row of the error model (DESIGN.md section 4): one test per status."""

from __future__ import annotations

import pytest

from pushwise.domain.outcomes import OutcomeKind
from pushwise.domain.webpush_errors import classify_webpush


@pytest.mark.parametrize("status", [200, 201, 202])
def test_accepted_is_delivered_and_keeps_the_location(status: int) -> None:
    outcome = classify_webpush(status, b"", None, "https://push.example.net/m/abc")
    assert outcome.kind is OutcomeKind.DELIVERED
    assert outcome.provider_message_id == "https://push.example.net/m/abc"
    assert outcome.provider_status == status


@pytest.mark.parametrize(("status", "reason"), [(404, "NotFound"), (410, "Gone")])
def test_unknown_or_expired_subscription_is_token_dead(status: int, reason: str) -> None:
    outcome = classify_webpush(status)
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (OutcomeKind.TOKEN_DEAD, reason, status)


def test_payload_too_large_is_permanent_so_fallback_content_can_be_tried() -> None:
    outcome = classify_webpush(413, b"Payload Too Large")
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "PayloadTooLarge")


def test_too_many_requests_retries_after_the_given_delay() -> None:
    outcome = classify_webpush(429, b"", 30.0)
    assert (outcome.kind, outcome.reason, outcome.retry_after) == (OutcomeKind.RETRY, "TooManyRequests", 30.0)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_retry(status: int) -> None:
    outcome = classify_webpush(status, b"", 5.0)
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.retry_after == 5.0


@pytest.mark.parametrize(
    ("status", "reason"), [(400, "BadRequest"), (401, "Unauthorized"), (403, "Forbidden")]
)
def test_request_or_vapid_errors_are_configuration(status: int, reason: str) -> None:
    outcome = classify_webpush(status, b"", 9.0)
    assert (outcome.kind, outcome.reason, outcome.retry_after) == (OutcomeKind.CONFIGURATION, reason, None)


@pytest.mark.parametrize("status", [405, 408, 415, 422])
def test_other_client_errors_are_permanent(status: int) -> None:
    outcome = classify_webpush(status)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, f"HTTP{status}")


def test_the_services_own_reason_is_kept_when_its_body_names_one() -> None:
    apple = classify_webpush(403, b'{"reason": "BadJwtToken"}')
    autopush = classify_webpush(410, b'{"code": 410, "errno": 106, "error": "Gone"}')
    assert (apple.kind, apple.reason) == (OutcomeKind.CONFIGURATION, "BadJwtToken")
    assert (autopush.kind, autopush.reason) == (OutcomeKind.TOKEN_DEAD, "Gone")
