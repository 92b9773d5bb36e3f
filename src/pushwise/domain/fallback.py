"""Fallback channels: when a user counts as unreached, and which channel comes next.

A user is unreached by a notification when every delivery to them has ended and
none was delivered: devices whose tokens died, permanent rejections, expiry. Then
the next channel of `fallback.channels` is planned. A channel with nothing to send
to (no device on that platform, a channel already tried) is passed over.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pushwise.domain.states import DeliveryState

# Channels that address the user rather than one of their devices: one delivery per user.
USER_CHANNELS = frozenset({"inbox", "email", "webhook"})
PLATFORM_OF_CHANNEL = {"apns": "ios", "fcm": "android", "webpush": "web"}
CHANNELS = ("inbox", "email", "apns", "fcm", "webpush", "webhook")

# Every delivery of a user in one of these: the user is unreached (a fallback step may follow).
ENDED_UNDELIVERED = frozenset({DeliveryState.FAILED, DeliveryState.EXPIRED, DeliveryState.FALLBACK})


def unreached(states: Iterable[str]) -> bool:
    """True when the user's deliveries all gave up (suppressed and cancelled ones never fall back)."""
    seen = [DeliveryState(state) for state in states]
    return bool(seen) and all(state in ENDED_UNDELIVERED for state in seen)


def remaining_steps(
    channels: tuple[str, ...], done_step: int, tried: Iterable[str]
) -> Iterator[tuple[int, str]]:
    """(1-based step, channel) after `done_step`, skipping channels this user was already sent on."""
    already = set(tried)
    for step, channel in enumerate(channels, start=1):
        if step > done_step and channel not in already:
            yield step, channel


def first_user_channel(channels: tuple[str, ...]) -> tuple[int, str] | None:
    """For a user with no device at all: the first step that does not need one."""
    for step, channel in enumerate(channels, start=1):
        if channel in USER_CHANNELS:
            return step, channel
    return None
