"""The kinds of user events apps post (`POST /v1/events`) and what each one teaches.

Notification events answer a push (they name its delivery or notification);
behaviour events are what the user did in the app. Any `custom:<name>` is kept
and may be a goal or a journey trigger, but teaches the profile nothing by default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

NOTIFICATION_EVENTS = frozenset(
    {
        "delivered",
        "opened",
        "clicked",
        "dismissed",
        "converted",
        "not_interested",
        "too_many",
        "unsubscribed",
        "permission_changed",
    }
)
BEHAVIOUR_EVENTS = frozenset({"app_open", "item_viewed", "added_to_cart", "purchased", "searched"})
CUSTOM_PREFIX = "custom:"
_CUSTOM_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

# Answers to a push counted per notification, campaign, category and template (`feedback` in the
# API): the opens and clicks beside the dismissals and complaints, so a sender reads them as rates.
FEEDBACK_EVENTS = frozenset({"opened", "clicked", "dismissed", "not_interested", "too_many", "unsubscribed"})

# Events that show the user is there: they move `last_active_at` (and so do custom events,
# which are things the user did in the app). A `delivered` receipt from the device or a
# permission change says nothing about the person.
ACTIVITY_EVENTS = frozenset({"opened", "clicked", "converted", *BEHAVIOUR_EVENTS})

# Engagement counters each event type adds to (per day and all time).
ENGAGEMENT_COUNTERS: Mapping[str, str] = MappingProxyType(
    {"opened": "opened", "clicked": "clicked", "dismissed": "dismissed", "converted": "converted"}
)

# How much one event moves the interest in its category. Negative feedback lowers it.
# Where the numbers come from: a view is the unit; a cart is a stronger signal and a
# purchase the strongest (the usual implicit-feedback ladder of recommender systems);
# opening a push in a category is about as telling as a view, a click a little more;
# "not interested" cancels roughly a purchase's worth. Apps tune them (`interest_weights`).
DEFAULT_INTEREST_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "item_viewed": 1.0,
        "searched": 0.5,
        "added_to_cart": 3.0,
        "purchased": 5.0,
        "opened": 1.0,
        "clicked": 2.0,
        "converted": 5.0,
        "dismissed": -0.5,
        "not_interested": -5.0,
    }
)


def is_known_type(event_type: str) -> bool:
    if event_type in NOTIFICATION_EVENTS or event_type in BEHAVIOUR_EVENTS:
        return True
    if event_type.startswith(CUSTOM_PREFIX):
        return bool(_CUSTOM_NAME.match(event_type[len(CUSTOM_PREFIX) :]))
    return False


def shows_activity(event_type: str) -> bool:
    return event_type in ACTIVITY_EVENTS or event_type.startswith(CUSTOM_PREFIX)
