"""The life of a delivery, as states and the rules between them."""

from __future__ import annotations

from enum import StrEnum


class DeliveryState(StrEnum):
    """Where one delivery (one notification to one device or channel) stands.

    `queued`, `retrying`, `deferred` and `sending` are pending: the queue may still claim
    them (`sending` only once its lease has run out). Every other state is final.
    """

    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    DEFERRED = "deferred"  # the gate said "not now": due again at `due_at`, not an attempt
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    EXPIRED = "expired"
    FALLBACK = "fallback"
    CANCELLED = "cancelled"
    HELD_OUT = "held_out"  # in the notification's holdout: recorded, never sent
    DIGESTED = "digested"  # went out inside a digest, carried by another delivery

    @property
    def is_final(self) -> bool:
        return self not in PENDING_STATES


PENDING_STATES: frozenset[DeliveryState] = frozenset(
    {DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.RETRYING, DeliveryState.DEFERRED}
)
FINAL_STATES: frozenset[DeliveryState] = frozenset(s for s in DeliveryState if s not in PENDING_STATES)


# Claim order: lower lanes are claimed first, so transactional traffic is never
# starved by a marketing campaign draining behind it.
TRANSACTIONAL_LANE = 0
NORMAL_LANE = 1


def lane_for(priority: str) -> int:
    return TRANSACTIONAL_LANE if priority == "transactional" else NORMAL_LANE
