"""Frequency caps, the minimum gap, duplicates and the phone makers' daily quotas.

All count from the user's ledger (`UserState.sent`): the pushes already sent, or reserved
by a worker sending them now. A notification counts once per user however many devices
it reaches, so the second device of the same notification never meets a cap its first
one spent. Transactional messages are never held by any of these (the vendors' quotas
excepted, which are the vendor's rule: a service-class push never meets them).

Over a cap the delivery is deferred to when the window has room, or suppressed when the
notification says `on_cap: "suppress"` (or, as for every deferral, it would expire first).
"""

from __future__ import annotations

from collections.abc import Iterable

from pushwise.domain.china.quotas import quota_decision
from pushwise.domain.china.vendors import VENDORS, VendorClass, category_class, class_for, next_vendor_day
from pushwise.domain.gate.model import Defer, GateDelivery, Passed, SentPush, Suppress, UserState
from pushwise.domain.gate.policy import Cap, GatePolicy

NOT_COUNTED = Passed("transactional: never capped")
OFF = Passed("off")


def held(delivery: GateDelivery, until: float, reason: str) -> Defer | Suppress:
    """Over a cap: wait for room, unless the notification asked to be dropped instead."""
    if delivery.notice.on_cap == "suppress":
        return Suppress(reason)
    return Defer(until, reason)


def _in_scope(push: SentPush, delivery: GateDelivery, policy: GatePolicy) -> bool:
    return policy.cap_scope != "channel" or push.channel == delivery.channel


def first_sends(pushes: Iterable[SentPush], exclude: str) -> dict[str, SentPush]:
    """Each notification's first push (the ledger is oldest first), leaving out `exclude`."""
    found: dict[str, SentPush] = {}
    for push in pushes:
        if push.notification_id != exclude:
            found.setdefault(push.notification_id, push)
    return found


def duplicate_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Suppress | Passed:
    """The same words (or the same collapse key) to the same user within the window: dropped."""
    window = policy.duplicate_window_seconds
    if not window:
        return OFF
    if delivery.transactional:
        return NOT_COUNTED
    notice = delivery.notice
    for push in user.sent:
        if push.notification_id == notice.id or push.at <= now - window:
            continue
        if (notice.collapse_key is not None and push.collapse_key == notice.collapse_key) or (
            notice.content_key is not None and push.content_key == notice.content_key
        ):
            return Suppress("duplicate")
    return Passed("nothing alike in the last {}s", window)


def gap_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Defer | Suppress | Passed:
    gap = policy.min_gap_seconds
    if not gap:
        return OFF
    if delivery.transactional:
        return NOT_COUNTED
    if any(p.notification_id == delivery.notice.id and _in_scope(p, delivery, policy) for p in user.sent):
        return Passed("this notification already reached the user")
    last = max(
        (
            p.at
            for p in user.sent
            if p.notification_id != delivery.notice.id and _in_scope(p, delivery, policy)
        ),
        default=None,
    )
    if last is None or now - last >= gap:
        return Passed("no other push in the last {}s", gap)
    return held(delivery, last + gap, "min_gap")


def _counted(cap: Cap, push: SentPush, delivery: GateDelivery, policy: GatePolicy) -> bool:
    return (
        (cap.category is None or push.category == cap.category)
        and (cap.channel is None or push.channel == cap.channel)
        and (not cap.per_campaign or push.campaign == delivery.notice.campaign)
        and _in_scope(push, delivery, policy)
    )


def _applies(cap: Cap, delivery: GateDelivery) -> bool:
    return (
        (cap.category is None or delivery.category == cap.category)
        and (cap.channel is None or delivery.channel == cap.channel)
        and (not cap.per_campaign or delivery.notice.campaign is not None)
    )


def room_at(cap: Cap, times: list[float], now: float) -> float | None:
    """None when one more fits in the window now, else when it will (`times` ascending)."""
    inside = [at for at in times if at > now - cap.window_seconds]
    if len(inside) < cap.max:
        return None
    return inside[len(inside) - cap.max] + cap.window_seconds


def cap_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Defer | Suppress | Passed:
    if not policy.caps:
        return OFF
    if delivery.transactional:
        return NOT_COUNTED
    notification = delivery.notice.id
    seen: list[tuple[Cap, int | None]] = []  # each cap and its count now (None: already counted)
    for cap in policy.caps:
        if not _applies(cap, delivery):
            continue
        counted = [push for push in user.sent if _counted(cap, push, delivery, policy)]
        if any(push.notification_id == notification for push in counted):
            seen.append((cap, None))
            continue
        times = sorted(push.at for push in first_sends(counted, notification).values())
        until = room_at(cap, times, now)
        if until is not None:
            return held(delivery, until, cap.reason)
        seen.append((cap, sum(1 for at in times if at > now - cap.window_seconds)))
    return Passed("{}", _CapWords(seen))


class _CapWords:
    """What the caps saw, worded only when an explanation is read."""

    def __init__(self, seen: list[tuple[Cap, int | None]]) -> None:
        self._seen = seen

    def __format__(self, _spec: str) -> str:
        words = [
            f"{cap.reason}: this notification already counts"
            if count is None
            else f"{cap.reason} {count}/{cap.max}"
            for cap, count in self._seen
        ]
        return ", ".join(words) or "no cap applies"


def vendor_class_of(delivery: GateDelivery, policy: GatePolicy) -> VendorClass:
    """The class the push goes as to its phone maker: its category's, as the adapters send it
    (`china.vendors.class_for`: a service category without that vendor's fields goes as marketing)."""
    category = policy.categories.get(delivery.category) if delivery.category else None
    classes = {category.key: category_class(category.config)} if category is not None else {}
    return class_for(delivery.channel, delivery.category, delivery.notice.priority, classes).vendor_class


def vendor_quota_check(
    delivery: GateDelivery, user: UserState, policy: GatePolicy, now: float
) -> Defer | Passed:
    """A phone maker's daily marketing quota per device, on its Shanghai day (`domain/china/quotas.py`)."""
    vendor = delivery.channel
    if vendor not in VENDORS:
        return Passed("not a phone maker's channel")
    vendor_class = vendor_class_of(delivery, policy)
    day_start = next_vendor_day(now) - 86_400.0
    sent_today = sum(
        1
        for push in user.vendor_sent
        if push.device_id == delivery.device_id
        and push.channel == vendor
        and push.marketing
        and push.at >= day_start
    )
    decided = quota_decision(vendor, policy.vendor_quotas[vendor], vendor_class, sent_today, now)
    if decided.until is None:
        return Passed("{}: {} marketing pushes today", vendor_class.value, sent_today)
    return Defer(decided.until, decided.reason or f"vendor_quota:{vendor}")
