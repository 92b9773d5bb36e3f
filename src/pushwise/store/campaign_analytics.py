"""Campaign analytics: the funnel per variant (and per day), and the holdout beside it.

Counted from the campaign's deliveries and the user-event log, in a few grouped queries:

- `sent`: deliveries handed to a provider (attempted; not suppressed, deferred or held out);
  `delivered`: those the provider accepted;
- `opened`, `clicked`, `converted`: deliveries with at least one such event from their user
  naming the delivery or its notification; `revenue`: the sum of `converted` values;
- `unsubscribed`, `permission_lost`: the campaign's users who unsubscribed (an `unsubscribed`
  event naming one of its notifications) or turned notifications off (`permission_changed`
  to denied) within 7 days of a send: what the campaign may have cost;
- the holdout: held-out users (never sent). Uplift compares each arm's users by the same
  measure: the share who converted or purchased within 7 days of their notification, pushed
  or not (opens and clicks are 0 in the holdout: it got no push), with a 95% interval and the
  p-value of the two-proportion test, for the best variant;
- `days`: the same funnel (and costs) per UTC day of sending, for the campaign and per variant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, distinct, func, literal, or_, select

from pushwise.domain.content.analytics import Difference, difference, wilson
from pushwise.domain.states import DeliveryState
from pushwise.store.schema import deliveries, notifications, user_events

ATTRIBUTION_SECONDS = 7 * 86_400.0
GOALS = ("opened", "clicked", "converted")
COUNTERS = ("sent", "delivered", "opened", "clicked", "converted")


@dataclass(slots=True)
class Funnel:
    key: str
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    revenue: float = 0.0
    users: int = 0  # users assigned to this arm (the holdout's denominator)
    unsubscribed: int = 0
    permission_lost: int = 0

    def rates(self) -> dict[str, float]:
        base = self.delivered
        return {
            "delivered": self.delivered / self.sent if self.sent else 0.0,
            **{goal: getattr(self, goal) / base if base else 0.0 for goal in GOALS},
        }

    def intervals(self) -> dict[str, list[float]]:
        estimates = {"delivered": wilson(self.delivered, self.sent)}
        estimates |= {goal: wilson(getattr(self, goal), self.delivered) for goal in GOALS}
        return {name: [e.low, e.high] for name, e in estimates.items()}


@dataclass(frozen=True, slots=True)
class Day:
    """One UTC day of sending: the campaign's funnel that day, and each variant's."""

    day: int  # epoch seconds of the day's start (UTC)
    total: Funnel
    variants: list[Funnel]


@dataclass(slots=True)
class CampaignAnalytics:
    variants: list[Funnel]
    holdout: Funnel | None
    uplift: dict[str, Difference] | None
    days: list[Day] = field(default_factory=list)


_ARM = func.coalesce(deliveries.c.variant, literal("all"))
_DAY = func.floor(deliveries.c.sent_at / 86_400.0)
_TOTAL = "total"


def _goal_deliveries(goal: str) -> Any:
    return func.count(distinct(case((user_events.c.type == goal, deliveries.c.id))))


def campaign_analytics(conn: Connection, campaign_id: str) -> CampaignAnalytics:
    in_campaign = (
        select(notifications.c.id).where(notifications.c.campaign_id == campaign_id).scalar_subquery()
    )
    variants = list(_funnels(conn, in_campaign, _ARM, by_day=False).values())
    window = _window_conversions(conn, in_campaign)
    holdout = None
    if "holdout" in window:
        users, converted, revenue = window["holdout"]
        holdout = Funnel("holdout", converted=converted, revenue=revenue, users=users)
    uplift: dict[str, Difference] = {}
    if holdout is not None and variants:
        best = max(variants, key=lambda f: window.get(f.key, (0, 0, 0.0))[1] / max(1, f.users))
        users, converted, _revenue = window.get(best.key, (best.users, 0, 0.0))
        measured = {"opened": best.opened, "clicked": best.clicked, "converted": converted}
        for goal, hits in measured.items():
            held = holdout.converted if goal == "converted" else 0  # the holdout got no push to open
            found = difference(hits, users, held, holdout.users)
            if found is not None:
                uplift[goal] = found
    return CampaignAnalytics(variants, holdout, uplift or None, _days(conn, in_campaign))


def _funnels(conn: Connection, in_campaign: Any, arm: Any, *, by_day: bool) -> dict[tuple[int, str], Funnel]:
    """The funnel (with its costs) per `arm` value, and per UTC day of sending when `by_day`.

    Keys are (the day's start in epoch seconds, 0 without days; the arm). `arm` None groups
    the whole campaign as `total`, users counted once however many variants they got.
    """
    joined = deliveries.outerjoin(
        user_events,
        and_(
            user_events.c.notification_id == deliveries.c.notification_id,
            user_events.c.user_id == deliveries.c.user_id,
            user_events.c.type.in_(GOALS),
            or_(user_events.c.delivery_id.is_(None), user_events.c.delivery_id == deliveries.c.id),
        ),
    )
    groups = _groups(arm, by_day)
    wanted = [deliveries.c.notification_id.in_(in_campaign), deliveries.c.state != "held_out"]
    if by_day:
        wanted.append(deliveries.c.sent_at.is_not(None))
    query = (
        select(
            func.count(distinct(case((deliveries.c.sent_at.is_not(None), deliveries.c.id)))),
            func.count(
                distinct(case((deliveries.c.state == DeliveryState.DELIVERED.value, deliveries.c.id)))
            ),
            *(_goal_deliveries(goal) for goal in GOALS),
            func.coalesce(
                func.sum(case((user_events.c.type == "converted", user_events.c.value), else_=0.0)), 0.0
            ),
            func.count(distinct(deliveries.c.user_id)),
            *groups,
        )
        .select_from(joined)
        .where(*wanted)
        .group_by(*groups)
        .order_by(*groups)
    )
    funnels = {}
    for row in conn.execute(query):
        key = _key(row[7:], arm, by_day)
        funnels[key] = Funnel(
            key=key[1],
            sent=int(row[0]),
            delivered=int(row[1]),
            opened=int(row[2]),
            clicked=int(row[3]),
            converted=int(row[4]),
            revenue=float(row[5]),
            users=int(row[6]),
        )
    _costs(conn, in_campaign, arm, funnels, by_day=by_day)
    return funnels


def _groups(arm: Any, by_day: bool) -> list[Any]:
    return [*([_DAY] if by_day else []), *([arm] if arm is not None else [])]


def _key(grouped: Sequence[Any], arm: Any, by_day: bool) -> tuple[int, str]:
    """(day start, arm) from a row's grouping columns (as `_groups` ordered them)."""
    values = list(grouped)
    start = int(values.pop(0)) * 86_400 if by_day else 0
    return start, str(values.pop(0)) if arm is not None else _TOTAL


def _costs(
    conn: Connection, in_campaign: Any, arm: Any, funnels: Mapping[tuple[int, str], Funnel], *, by_day: bool
) -> None:
    """Unsubscribes and permission losses among each arm's users within the attribution window
    (per day of the send they follow, when `by_day`)."""
    lost = or_(
        and_(
            user_events.c.type == "unsubscribed",
            user_events.c.notification_id == deliveries.c.notification_id,
        ),
        and_(
            user_events.c.type == "permission_changed",
            func.coalesce(user_events.c.properties["permission"].as_string(), "") == "denied",
        ),
    )
    groups = _groups(arm, by_day)
    query = (
        select(
            func.count(distinct(case((user_events.c.type == "unsubscribed", user_events.c.user_id)))),
            func.count(distinct(case((user_events.c.type == "permission_changed", user_events.c.user_id)))),
            *groups,
        )
        .select_from(
            deliveries.join(
                user_events,
                and_(
                    user_events.c.user_id == deliveries.c.user_id,
                    lost,
                    user_events.c.at >= deliveries.c.sent_at,
                    user_events.c.at < deliveries.c.sent_at + ATTRIBUTION_SECONDS,
                ),
            )
        )
        .where(deliveries.c.notification_id.in_(in_campaign), deliveries.c.sent_at.is_not(None))
        .group_by(*groups)
    )
    for row in conn.execute(query):
        funnel = funnels.get(_key(row[2:], arm, by_day))
        if funnel is not None:
            funnel.unsubscribed = int(row[0])
            funnel.permission_lost = int(row[1])


def _window_conversions(conn: Connection, in_campaign: Any) -> dict[str, tuple[int, int, float]]:
    """Per arm (variant, "all" or "holdout"): users, users who converted or purchased within the
    attribution window after their notification, and that revenue. The same measure in every arm,
    pushed or held out, so the holdout comparison is fair."""
    arm = case(
        (deliveries.c.state == "held_out", literal("holdout")),
        else_=func.coalesce(deliveries.c.variant, literal("all")),
    )
    assigned = (
        select(arm.label("arm"), deliveries.c.user_id, func.min(deliveries.c.accepted_at).label("at"))
        .where(deliveries.c.notification_id.in_(in_campaign), deliveries.c.user_id.is_not(None))
        .group_by(arm, deliveries.c.user_id)
        .subquery()
    )
    query = (
        select(
            assigned.c.arm,
            func.count(distinct(assigned.c.user_id)),
            func.count(distinct(user_events.c.user_id)),
            func.coalesce(func.sum(user_events.c.value), 0.0),
        )
        .select_from(
            assigned.outerjoin(
                user_events,
                and_(
                    user_events.c.user_id == assigned.c.user_id,
                    user_events.c.type.in_(("converted", "purchased")),
                    user_events.c.at >= assigned.c.at,
                    user_events.c.at < assigned.c.at + ATTRIBUTION_SECONDS,
                ),
            )
        )
        .group_by(assigned.c.arm)
    )
    return {row[0]: (int(row[1]), int(row[2]), float(row[3])) for row in conn.execute(query)}


def _days(conn: Connection, in_campaign: Any) -> list[Day]:
    """Per UTC day of sending: the totals and each variant (the holdout is never sent: no days)."""
    totals = _funnels(conn, in_campaign, None, by_day=True)
    arms = _funnels(conn, in_campaign, _ARM, by_day=True)
    return [
        Day(start, total, [funnel for (day, _key), funnel in arms.items() if day == start])
        for (start, _key), total in sorted(totals.items())
    ]


def _row(funnel: Funnel) -> dict[str, Any]:
    return {
        "arm": funnel.key,
        "users": funnel.users,
        **{name: getattr(funnel, name) for name in COUNTERS},
        "revenue": round(funnel.revenue, 2),
        "unsubscribed": funnel.unsubscribed,
        "permission_lost": funnel.permission_lost,
        **{f"{name}_rate": round(value, 6) for name, value in funnel.rates().items()},
    }


def as_rows(analytics: CampaignAnalytics) -> list[Mapping[str, Any]]:
    """One row per arm (variants, then the holdout), for CSV."""
    funnels = [*analytics.variants, *([analytics.holdout] if analytics.holdout else [])]
    return [_row(f) for f in funnels]


def as_day_rows(analytics: CampaignAnalytics) -> list[Mapping[str, Any]]:
    """One row per day and arm (its variants, then `total`), for CSV: the arm rows with a `day`."""
    return [
        {"day": datetime.fromtimestamp(day.day, UTC).date().isoformat(), **_row(funnel)}
        for day in analytics.days
        for funnel in [*day.variants, day.total]
    ]
