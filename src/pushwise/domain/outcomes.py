"""One error model for every provider (DESIGN.md section 4).

Each provider reply, or failure to get one, maps to exactly one `Outcome`. The
engine acts on the outcome's kind only, so retries, pruning, fallback, metrics
and alerts behave the same whichever provider produced it.
"""

from __future__ import annotations

from enum import StrEnum

from pushwise.domain.values import frozen_value


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    TOKEN_DEAD = "token_dead"  # noqa: S105 - a state name, not a secret
    REFRESH_CREDENTIALS = "refresh_credentials"
    CONFIGURATION = "configuration"
    PERMANENT = "permanent"
    # A phone maker's daily marketing budget (per device or app) is used up: not an attempt;
    # the delivery waits for the vendor's next day or takes the installation's next route.
    QUOTA_SPENT = "quota_spent"


@frozen_value
class Outcome:
    """What one send attempt ended in.

    `reason` is the provider's own word (e.g. APNs `BadDeviceToken`) or ours for
    transport failures (`Timeout`, `ConnectionLost`, `GoAway`), so people can search
    for it in the provider's docs. `retry_after` is seconds the provider asked us to wait.
    """

    kind: OutcomeKind
    reason: str = ""
    provider_status: int | None = None
    retry_after: float | None = None
    provider_message_id: str | None = None

    @property
    def is_success(self) -> bool:
        return self.kind is OutcomeKind.DELIVERED


def delivered(provider_status: int = 200, provider_message_id: str | None = None) -> Outcome:
    return Outcome(OutcomeKind.DELIVERED, "", provider_status, None, provider_message_id)


def transport_failure(reason: str) -> Outcome:
    """Connection lost, timeout, GOAWAY: the request may or may not have arrived; retry."""
    return Outcome(OutcomeKind.RETRY, reason, None)


def local_rejection(reason: str, kind: OutcomeKind = OutcomeKind.PERMANENT) -> Outcome:
    """A check we make before sending (payload too large, missing credentials)."""
    return Outcome(kind, reason, None)
