"""The gate's first check: what the user (and the app's category) said about this message.

Transactional messages (an order confirmation, a one-time code) ignore marketing opt-outs,
category defaults included, but not a global unsubscribe of a channel where the law makes
it binding whatever the message (`LAW_BOUND_UNSUBSCRIBES`: e-mail). A category restricted
to some channels is the app's own rule and holds for every priority.
"""

from __future__ import annotations

from pushwise.domain.audience.preferences import allowed
from pushwise.domain.gate.model import GateDelivery, Suppress, UserState
from pushwise.domain.gate.policy import GatePolicy

LAW_BOUND_UNSUBSCRIBES = frozenset({"email"})


def preference_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Suppress | None:
    channel, key = delivery.channel, delivery.category
    preferences = user.preferences
    if channel in preferences.unsubscribed and (
        not delivery.transactional or channel in LAW_BOUND_UNSUBSCRIBES
    ):
        return Suppress(f"unsubscribed:{channel}")
    if key is None:
        return None
    category = policy.categories.get(key)
    if category is not None and not category.carries(channel):
        return Suppress(f"category_channels:{key}")
    if not delivery.transactional and not allowed(category, key, channel, preferences):
        return Suppress(f"opted_out:{key}")
    return None
