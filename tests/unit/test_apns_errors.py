"""DESIGN.md section 4, APNs column: one test per row, then every reason Apple documents."""

from __future__ import annotations

import pytest

from pushwise.domain.apns_errors import classify_apns
from pushwise.domain.outcomes import OutcomeKind


def test_row_delivered_keeps_the_apns_id() -> None:
    outcome = classify_apns(200, apns_id="5e0b5d2e-0000-4000-8000-000000000001")
    assert outcome.kind is OutcomeKind.DELIVERED
    assert outcome.provider_message_id == "5e0b5d2e-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, "TooManyRequests"), (500, "InternalServerError"), (503, "ServiceUnavailable"), (503, "Shutdown")],
)
def test_row_retry_later_honours_retry_after(status: int, reason: str) -> None:
    outcome = classify_apns(status, reason, retry_after=30.0)
    assert (outcome.kind, outcome.reason, outcome.retry_after) == (OutcomeKind.RETRY, reason, 30.0)


@pytest.mark.parametrize(
    ("status", "reason"), [(410, "Unregistered"), (410, "ExpiredToken"), (400, "BadDeviceToken")]
)
def test_row_token_dead(status: int, reason: str) -> None:
    assert classify_apns(status, reason).kind is OutcomeKind.TOKEN_DEAD


def test_row_refresh_credentials() -> None:
    assert classify_apns(403, "ExpiredProviderToken").kind is OutcomeKind.REFRESH_CREDENTIALS


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (403, "InvalidProviderToken"),
        (400, "BadTopic"),
        (400, "TopicDisallowed"),
        (400, "DeviceTokenNotForTopic"),
        (405, "MethodNotAllowed"),
    ],
)
def test_row_configuration_error(status: int, reason: str) -> None:
    assert classify_apns(status, reason).kind is OutcomeKind.CONFIGURATION


@pytest.mark.parametrize(("status", "reason"), [(413, "PayloadTooLarge"), (400, "BadCollapseId")])
def test_row_permanent_failure(status: int, reason: str) -> None:
    assert classify_apns(status, reason).kind is OutcomeKind.PERMANENT


def test_retry_after_is_dropped_when_the_outcome_is_not_a_retry() -> None:
    assert classify_apns(410, "Unregistered", retry_after=30.0).retry_after is None


def test_a_reply_without_reason_is_named_by_its_status() -> None:
    outcome = classify_apns(502)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.RETRY, "HTTP502")


# Apple, "Handling notification responses from APNs", table of reasons.
APPLE_REASONS = [
    (400, "BadCollapseId", OutcomeKind.PERMANENT),
    (400, "BadDeviceToken", OutcomeKind.TOKEN_DEAD),
    (400, "BadExpirationDate", OutcomeKind.PERMANENT),
    (400, "BadMessageId", OutcomeKind.PERMANENT),
    (400, "BadPriority", OutcomeKind.PERMANENT),
    (400, "BadTopic", OutcomeKind.CONFIGURATION),
    (400, "DeviceTokenNotForTopic", OutcomeKind.CONFIGURATION),
    (400, "DuplicateHeaders", OutcomeKind.PERMANENT),
    (400, "IdleTimeout", OutcomeKind.RETRY),
    (400, "InvalidPushType", OutcomeKind.PERMANENT),
    (400, "MissingDeviceToken", OutcomeKind.PERMANENT),
    (400, "MissingTopic", OutcomeKind.CONFIGURATION),
    (400, "PayloadEmpty", OutcomeKind.PERMANENT),
    (400, "TopicDisallowed", OutcomeKind.CONFIGURATION),
    (403, "BadCertificate", OutcomeKind.CONFIGURATION),
    (403, "BadCertificateEnvironment", OutcomeKind.CONFIGURATION),
    (403, "ExpiredProviderToken", OutcomeKind.REFRESH_CREDENTIALS),
    (403, "Forbidden", OutcomeKind.CONFIGURATION),
    (403, "InvalidProviderToken", OutcomeKind.CONFIGURATION),
    (403, "MissingProviderToken", OutcomeKind.CONFIGURATION),
    (403, "UnrelatedKeyIdInToken", OutcomeKind.CONFIGURATION),
    (404, "BadPath", OutcomeKind.CONFIGURATION),
    (405, "MethodNotAllowed", OutcomeKind.CONFIGURATION),
    (410, "ExpiredToken", OutcomeKind.TOKEN_DEAD),
    (410, "Unregistered", OutcomeKind.TOKEN_DEAD),
    (413, "PayloadTooLarge", OutcomeKind.PERMANENT),
    (429, "TooManyProviderTokenUpdates", OutcomeKind.RETRY),
    (429, "TooManyRequests", OutcomeKind.RETRY),
    (500, "InternalServerError", OutcomeKind.RETRY),
    (503, "ServiceUnavailable", OutcomeKind.RETRY),
    (503, "Shutdown", OutcomeKind.RETRY),
]


@pytest.mark.parametrize(("status", "reason", "kind"), APPLE_REASONS)
def test_every_apple_reason(status: int, reason: str, kind: OutcomeKind) -> None:
    outcome = classify_apns(status, reason)
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (kind, reason, status)
