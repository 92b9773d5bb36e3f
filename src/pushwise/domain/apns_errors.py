"""APNs status and reason codes mapped onto the shared error model.

Source: Apple, "Handling notification responses from APNs" (status codes and the
`reason` values in the JSON body).
"""

from __future__ import annotations

from pushwise.domain.outcomes import Outcome, OutcomeKind

_TOKEN_DEAD_REASONS = frozenset({"Unregistered", "ExpiredToken", "BadDeviceToken"})
_CONFIGURATION_400_REASONS = frozenset(
    {
        "BadTopic",
        "TopicDisallowed",
        "DeviceTokenNotForTopic",
        "MissingTopic",
        "BadCertificate",
        "BadCertificateEnvironment",
    }
)
# TooManyProviderTokenUpdates: we refreshed the JWT too often; waiting fixes it.
# IdleTimeout: Apple closed an idle connection; the request never ran.
_RETRY_REASONS = frozenset(
    {
        "TooManyRequests",
        "InternalServerError",
        "ServiceUnavailable",
        "Shutdown",
        "TooManyProviderTokenUpdates",
        "IdleTimeout",
    }
)


def classify_apns(
    status: int,
    reason: str = "",
    retry_after: float | None = None,
    apns_id: str | None = None,
) -> Outcome:
    """Map one APNs reply to an outcome.

    `BadDeviceToken` means dead only in the environment the token was registered
    for; pushwise sends each app to one configured environment, so a token that
    environment rejects will never work there and is pruned.
    """
    if status == 200:
        return Outcome(OutcomeKind.DELIVERED, "", status, None, apns_id)
    kind = _kind_for(status, reason)
    return Outcome(
        kind, reason or f"HTTP{status}", status, retry_after if kind is OutcomeKind.RETRY else None
    )


def _kind_for(status: int, reason: str) -> OutcomeKind:
    if reason in _RETRY_REASONS or status in (429, 500, 503):
        return OutcomeKind.RETRY
    if status == 410 or reason in _TOKEN_DEAD_REASONS:
        return OutcomeKind.TOKEN_DEAD
    if status == 403 and reason == "ExpiredProviderToken":
        return OutcomeKind.REFRESH_CREDENTIALS
    # 404 BadPath: our request URL is wrong, so every send would fail the same way.
    if status in (403, 404, 405) or reason in _CONFIGURATION_400_REASONS:
        return OutcomeKind.CONFIGURATION
    if status == 413:
        return OutcomeKind.PERMANENT
    if 400 <= status < 500:
        return OutcomeKind.PERMANENT
    return OutcomeKind.RETRY
