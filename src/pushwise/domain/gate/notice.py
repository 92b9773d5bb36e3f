"""A notification as the gate sees it, and what makes two notifications "the same words".

Duplicates are keyed on the notification's content, not on the text rendered for each
user: the gate decides before rendering (rendering what is then held back is wasted
work), and a template with the same variables renders the same words for the same user.
So the key is a hash of the title and body for plain content, and of the template, its
version, variables and data for a templated one; the collapse key is compared apart.
"""

from __future__ import annotations

import hashlib

import orjson

from pushwise.domain.gate.model import GateNotice
from pushwise.domain.notification import NotificationSpec


def content_key(spec: NotificationSpec) -> str | None:
    if spec.template is not None:
        words = [spec.template, spec.template_version, spec.variables, spec.content.data]
    elif spec.content.title or spec.content.body:
        words = [spec.content.title, spec.content.body]
    else:
        return None  # a background push has no words to repeat
    return hashlib.blake2b(orjson.dumps(words, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


def notice_of(
    notification_id: str, spec: NotificationSpec, created_at: float, expires_at: float | None
) -> GateNotice:
    within = spec.optimize_within_hours
    return GateNotice(
        id=notification_id,
        created_at=created_at,
        expires_at=expires_at,
        priority=spec.priority,
        collapse_key=spec.collapse_key,
        content_key=content_key(spec),
        campaign=spec.campaign_id,
        on_cap=spec.on_cap,
        optimize_within=within * 3600.0 if within is not None else None,
        holdout_percent=spec.holdout_percent,
        rate_per_minute=spec.rate_per_minute,
        calendar=spec.calendar,
        uplift_model=spec.uplift_model,
        uplift_cost=spec.uplift.get("cost_per_send"),
    )
