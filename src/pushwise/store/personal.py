"""What personalised deliveries showed, and what came of it: the reads and the write behind variants.

- `arm_results`: per variant of an experiment (its notifications), the pushes delivered and
  how many of them reached the goal (an event of the goal's type naming the delivery or its
  notification, from the same user): what Thompson sampling learns from.
- `last_shown`: when each user last got each variant of a template (the recovery penalty).
- `record_shown`: the template, variant and item a delivery was rendered with, written when
  it is rendered, so learning and analytics see what was sent (a retry that renders again
  writes again: the last rendering is the one sent).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, bindparam, distinct, func, or_, select, update

from pushwise.domain.content.variants import ArmStats
from pushwise.domain.states import DeliveryState
from pushwise.store.driver import run
from pushwise.store.schema import deliveries, user_events


def arm_results(conn: Connection, notification_ids: Sequence[str], goal: str) -> dict[str, ArmStats]:
    reached = and_(
        user_events.c.notification_id == deliveries.c.notification_id,
        user_events.c.type == goal,
        user_events.c.user_id == deliveries.c.user_id,
        or_(user_events.c.delivery_id.is_(None), user_events.c.delivery_id == deliveries.c.id),
    )
    query = (
        select(
            deliveries.c.variant,
            func.count(distinct(deliveries.c.id)),
            func.count(distinct(user_events.c.id)),
        )
        .select_from(deliveries.outerjoin(user_events, reached))
        .where(
            deliveries.c.notification_id.in_(notification_ids),
            deliveries.c.variant.is_not(None),
            deliveries.c.state == DeliveryState.DELIVERED.value,
        )
        .group_by(deliveries.c.variant)
    )
    return {
        variant: ArmStats(int(trials), min(int(trials), int(hits)))
        for variant, trials, hits in conn.execute(query)
    }


def last_shown(
    conn: Connection, template: str, user_ids: Sequence[str], since: float
) -> dict[str, dict[str, float]]:
    query = (
        select(deliveries.c.user_id, deliveries.c.variant, func.max(deliveries.c.sent_at))
        .where(
            deliveries.c.user_id.in_(user_ids),
            deliveries.c.template == template,
            deliveries.c.variant.is_not(None),
            deliveries.c.sent_at > since,
        )
        .group_by(deliveries.c.user_id, deliveries.c.variant)
    )
    shown: dict[str, dict[str, float]] = {}
    for user_id, variant, at in conn.execute(query):
        shown.setdefault(user_id, {})[variant] = float(at)
    return shown


_RECORD_SHOWN = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"))
    .values(template=bindparam("template"), variant=bindparam("variant"), item_id=bindparam("item_id"))
)


def record_shown(conn: Connection, rows: Sequence[tuple[int, str, str | None, str | None]]) -> None:
    """(delivery id, template, variant, item id) for each rendered delivery, in id order."""
    if rows:
        run(
            conn,
            _RECORD_SHOWN,
            [{"b_id": d, "template": t, "variant": v, "item_id": i} for d, t, v, i in sorted(rows)],
        )
