"""Whether a notification can fit every push provider's payload limit, checked once at the API.

Oversized text is not a problem here: the engine shortens it or sends
`fallback.content`. What shortening cannot fix (large `data`, `apns.payload`, `fcm`
or `webpush` options) is, and the API refuses it instead of failing every delivery.
"""

from __future__ import annotations

import orjson

from pushwise.domain.apns_message import MAX_PAYLOAD_BYTES as APNS_MAX_PAYLOAD
from pushwise.domain.apns_message import PayloadTooLarge, render
from pushwise.domain.fallback_content import PAYLOAD_TOO_LARGE, smallest_with_data
from pushwise.domain.fcm_message import MAX_PAYLOAD_BYTES as FCM_MAX_PAYLOAD
from pushwise.domain.fcm_message import FcmMessageRejected, render_fcm
from pushwise.domain.fcm_message import PayloadTooLarge as FcmPayloadTooLarge
from pushwise.domain.notification import NotificationSpec
from pushwise.domain.webpush_message import MAX_PAYLOAD_BYTES as WEBPUSH_MAX_PAYLOAD
from pushwise.domain.webpush_message import InvalidWebPushMessage
from pushwise.domain.webpush_message import render as render_webpush

SMALLEST_PROVIDER_LIMIT = min(APNS_MAX_PAYLOAD, FCM_MAX_PAYLOAD, WEBPUSH_MAX_PAYLOAD)
# A rendered payload holds at most the spec's own text, grown by escaping (non-ASCII as
# \uXXXX, FCM's data values JSON-encoded as strings, escaped again): under four times
# its UTF-8 size, plus a few hundred bytes of fixed structure.
ESCAPING_GROWTH = 4
FIXED_OVERHEAD = 512


def oversize_problem(spec: NotificationSpec) -> str | None:
    """None when the smallest form the engine would send fits every provider, else which one and why."""
    if surely_fits(spec):
        return None
    return _too_large_for(smallest_with_data(spec))


def surely_fits(spec: NotificationSpec) -> bool:
    """A cheap upper bound that fits every limit, so most accepts skip rendering three payloads.

    Rendering for APNs, FCM and Web Push costs more than the rest of an accept, and
    most notifications are a few hundred bytes, nowhere near any limit.
    """
    bound = ESCAPING_GROWTH * len(orjson.dumps(spec.to_dict())) + FIXED_OVERHEAD
    return bound < SMALLEST_PROVIDER_LIMIT


def _too_large_for(spec: NotificationSpec) -> str | None:
    try:
        render(spec, topic="x", expires_at=None, delivery_id=0)
    except PayloadTooLarge as error:
        return f"APNs: {error}"
    try:
        render_fcm(spec, "x", now=0.0, expires_at=None)
    except FcmPayloadTooLarge as error:
        return f"FCM: {error}"
    except FcmMessageRejected:
        pass  # other FCM rules are checked per delivery and reported as permanent failures
    try:
        render_webpush(spec, expires_at=None, now=0.0)
    except InvalidWebPushMessage as error:
        if error.reason == PAYLOAD_TOO_LARGE:
            return f"Web Push: {error}"
    return None
