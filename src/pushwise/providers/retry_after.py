"""The `Retry-After` header (RFC 9110 section 10.2.3): delay-seconds or an HTTP date."""

from __future__ import annotations

from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from `now`, or None when the header is absent or unreadable.

    A date in the past means "now" (0 s): the peer asked for no further delay.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now)
