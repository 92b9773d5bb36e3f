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
  p-value of the two-proportion test, for the best variant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class CampaignAnalytics:
    variants: list[Funnel]
    holdout: Funnel | None
    uplift: dict[str, Difference] | None
    days: list[dict[str, Any]] = field(default_factory=list)


def _goal_deliveries(goal: str) -> Any:
    return func.count(distinct(case((user_events.c.type == goal, deliveries.c.id))))


def campaign_analytics(conn: Connection, campaign_id: str) -> CampaignAnalytics:
    in_campaign = (
        select(notifications.c.id).where(notifications.c.campaign_id == campaign_id).scalar_subquery()
    )
    arm = func.coalesce(deliveries.c.variant, literal("all"))
    joined = deliveries.outerjoin(
        user_events,
        and_(
            user_events.c.notification_id == deliveries.c.notification_id,
            user_events.c.user_id == deliveries.c.user_id,
            user_events.c.type.in_(GOALS),
            or_(user_events.c.delivery_id.is_(None), user_events.c.delivery_id == deliveries.c.id),
        ),
    )
    query = (
        select(
            arm.label("arm"),
            func.count(distinct(case((deliveries.c.sent_at.is_not(None), deliveries.c.id)))),
            func.count(
                distinct(case((deliveries.c.state == DeliveryState.DELIVERED.value, deliveries.c.id)))
            ),
            *(_goal_deliveries(goal) for goal in GOALS),
            func.coalesce(
                func.sum(case((user_events.c.type == "converted", user_events.c.value), else_=0.0)), 0.0
            ),
            func.count(distinct(deliveries.c.user_id)),
        )
        .select_from(joined)
        .where(deliveries.c.notification_id.in_(in_campaign), deliveries.c.state != "held_out")
        .group_by(arm)
        .order_by(arm)
    )
    variants = [
        Funnel(
            key=row[0],
            sent=int(row[1]),
            delivered=int(row[2]),
            opened=int(row[3]),
            clicked=int(row[4]),
            converted=int(row[5]),
            revenue=float(row[6]),
            users=int(row[7]),
        )
        for row in conn.execute(query)
    ]
    _costs(conn, in_campaign, variants)
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


def _costs(conn: Connection, in_campaign: Any, funnels: Sequence[Funnel]) -> None:
    """Unsubscribes and permission losses among each arm's users within the attribution window."""
    arm = func.coalesce(deliveries.c.variant, literal("all"))
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
    query = (
        select(
            arm,
            func.count(distinct(case((user_events.c.type == "unsubscribed", user_events.c.user_id)))),
            func.count(distinct(case((user_events.c.type == "permission_changed", user_events.c.user_id)))),
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
        .group_by(arm)
    )
    by_key = {funnel.key: funnel for funnel in funnels}
    for key, unsubscribed, lost_permission in conn.execute(query):
        if key in by_key:
            by_key[key].unsubscribed = int(unsubscribed)
            by_key[key].permission_lost = int(lost_permission)


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


def _days(conn: Connection, in_campaign: Any) -> list[dict[str, Any]]:
    day = func.floor(deliveries.c.sent_at / 86_400.0)
    query = (
        select(
            day,
            func.count(distinct(deliveries.c.id)),
            func.count(
                distinct(case((deliveries.c.state == DeliveryState.DELIVERED.value, deliveries.c.id)))
            ),
            *(_goal_deliveries(goal) for goal in GOALS),
        )
        .select_from(
            deliveries.outerjoin(
                user_events,
                and_(
                    user_events.c.notification_id == deliveries.c.notification_id,
                    user_events.c.user_id == deliveries.c.user_id,
                    user_events.c.type.in_(GOALS),
                ),
            )
        )
        .where(deliveries.c.notification_id.in_(in_campaign), deliveries.c.sent_at.is_not(None))
        .group_by(day)
        .order_by(day)
    )
    return [
        {"day": int(row[0]) * 86_400, **dict(zip(COUNTERS, (int(v) for v in row[1:]), strict=True))}
        for row in conn.execute(query)
    ]


def as_rows(analytics: CampaignAnalytics) -> list[Mapping[str, Any]]:
    """One row per arm (variants, then the holdout), for CSV."""
    funnels = [*analytics.variants, *([analytics.holdout] if analytics.holdout else [])]
    return [
        {
            "arm": f.key,
            "users": f.users,
            **{name: getattr(f, name) for name in COUNTERS},
            "revenue": round(f.revenue, 2),
            "unsubscribed": f.unsubscribed,
            "permission_lost": f.permission_lost,
            **{f"{name}_rate": round(value, 6) for name, value in f.rates().items()},
        }
        for f in funnels
    ]
