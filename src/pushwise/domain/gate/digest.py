"""Digests: low-priority notifications to one device within a window go out as one push.

The first digestible notification goes out at once and opens a window of
`window_seconds` on that device. The next one inside the window is held until the
window ends and becomes the digest's push (its *carrier*); the ones after it join
(`Merge`: the delivery ends `digested`, naming the carrier). When the carrier goes out
it carries every part, worded by the app's digest template (or the built-in words),
and opens the next window. A carrier held longer (quiet hours, caps) keeps gathering.
Transactional messages, and anything above `max_priority` or outside `category`,
never wait for a digest.
"""

from __future__ import annotations

from pushwise.domain.gate.caps import OFF
from pushwise.domain.gate.model import (
    PRIORITY_RANK,
    Defer,
    GateDelivery,
    Merge,
    OpenDigest,
    Passed,
    UserState,
)
from pushwise.domain.gate.policy import DigestRule, GatePolicy

NO_CARRIER = 0


def digest_key(delivery: GateDelivery) -> str:
    """One digest per device (or per user channel, e.g. the inbox)."""
    return f"device:{delivery.device_id}" if delivery.device_id else f"channel:{delivery.channel}"


def digestible(delivery: GateDelivery, rule: DigestRule) -> bool:
    return (
        delivery.user_id is not None
        and not delivery.transactional
        and PRIORITY_RANK.get(delivery.notice.priority, 1) <= PRIORITY_RANK[rule.max_priority]
        and (rule.category is None or delivery.category == rule.category)
    )


def own_digest(delivery: GateDelivery, user: UserState) -> OpenDigest | None:
    found = user.digests.get(digest_key(delivery))
    return found if found is not None and found.carrier == delivery.id else None


def digest_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Defer | Merge | Passed:
    rule = policy.digest
    if rule is None:
        return OFF
    if not digestible(delivery, rule):
        return Passed("not digestible (priority, category or transactional)")
    if delivery.attempts:
        return Passed("a retry goes when due")
    found = user.digests.get(digest_key(delivery))
    if found is None or (found.carrier == NO_CARRIER and found.closes_at <= now):
        return Passed("opens a {}s digest window", rule.window_seconds)
    if found.carrier == delivery.id:
        if found.closes_at <= now:
            return Passed("carries the digest with {} more", found.parts)
        return Defer(found.closes_at, "digest")
    if found.carrier == NO_CARRIER:
        return Defer(found.closes_at, "digest")  # becomes the carrier of this window's digest
    return Merge(found.carrier)
