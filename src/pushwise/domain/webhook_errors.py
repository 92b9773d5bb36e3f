"""Webhook endpoint answers mapped to the shared error model (DESIGN.md section 4).

| answer                                   | outcome                                     |
|------------------------------------------|---------------------------------------------|
| 2xx                                      | delivered                                   |
| 410 Gone                                 | token dead: the endpoint is gone, fall back |
| 408, 425, 429, 5xx, timeout, lost conn.  | retry later, honouring `Retry-After`        |
| other 4xx (and 3xx: we never follow)     | permanent                                   |
| endpoint resolves to a private address   | configuration                               |
"""

from __future__ import annotations

from pushwise.domain.outcomes import Outcome, OutcomeKind

_RETRYABLE_4XX = frozenset({408, 425, 429})


def classify_webhook(status: int, retry_after: float | None = None) -> Outcome:
    if 200 <= status < 300:
        return Outcome(OutcomeKind.DELIVERED, "", status)
    if status == 410:
        return Outcome(OutcomeKind.TOKEN_DEAD, "EndpointGone", status)
    if status in _RETRYABLE_4XX or status >= 500:
        return Outcome(OutcomeKind.RETRY, f"Http{status}", status, retry_after)
    return Outcome(OutcomeKind.PERMANENT, f"Http{status}", status)


def private_endpoint_refused() -> Outcome:
    return Outcome(OutcomeKind.CONFIGURATION, "PrivateEndpointRefused")
