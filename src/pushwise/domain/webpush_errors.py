"""Push-service replies (RFC 8030 over RFC 8291/8292) mapped onto the shared error model.

Sources: RFC 8030 section 5 (201 Created with a `Location` naming the message),
RFC 8292 section 4 (401/403 for VAPID problems), and the documented answers of
the big push services (FCM, Mozilla autopush, Apple, WNS): 404/410 for a
subscription that no longer exists, 413 for a body over 4096 bytes, 429 with
`Retry-After` when throttled.

Safari's push service answers 200 even for subscriptions that are gone, so a
success here does not prove the subscription lives: stale Safari subscriptions
must also be pruned by last-seen age (tracked elsewhere).
"""

from __future__ import annotations

import orjson

from pushwise.domain.outcomes import Outcome, OutcomeKind

_ACCEPTED = frozenset({200, 201, 202})
_RETRY = frozenset({429, 500, 502, 503, 504})
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    410: "Gone",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def classify_webpush(
    status: int, body: bytes = b"", retry_after: float | None = None, location: str | None = None
) -> Outcome:
    """Map one push-service reply to an outcome; `location` is the reply's `Location` header.

    400, 401 and 403 mean our request is wrong for every subscription (VAPID key or
    claims, headers), so they are configuration errors, not this subscription's fault.
    """
    if status in _ACCEPTED:
        return Outcome(OutcomeKind.DELIVERED, "", status, None, location)
    reason = _service_reason(body) or _REASONS.get(status, f"HTTP{status}")
    if status in _RETRY or status > 500:
        return Outcome(OutcomeKind.RETRY, reason, status, retry_after)
    if status in (404, 410):
        return Outcome(OutcomeKind.TOKEN_DEAD, reason, status)
    if status in (400, 401, 403):
        return Outcome(OutcomeKind.CONFIGURATION, reason, status)
    if status == 413:
        return Outcome(OutcomeKind.PERMANENT, "PayloadTooLarge", status)
    return Outcome(OutcomeKind.PERMANENT, reason, status)


def _service_reason(body: bytes) -> str:
    """The service's own word when its JSON body gives one (Apple: `reason`; autopush: `error`)."""
    if not body or body[:1] != b"{":
        return ""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    for key in ("reason", "error"):
        value = parsed.get(key)
        if isinstance(value, str) and value and len(value) <= 64:
            return value.replace(" ", "")
    return ""
