"""The delivery channels pushwise knows, in one place.

What reads it: validation of an app's categories (`channels`) and of a user's preferences
(category x channel, global unsubscribes). A new channel joins by being added here (the
phone makers' services join through `VENDORS`), never by editing a list in each validator.
"""

from __future__ import annotations

from pushwise.domain.china.vendors import VENDORS

PUSH_CHANNELS: tuple[str, ...] = ("apns", "fcm", "webpush", *VENDORS)
# Then the channels that address the user rather than one of their devices.
DELIVERY_CHANNELS: tuple[str, ...] = (*PUSH_CHANNELS, "email", "inbox", "webhook")


def is_channel(name: str) -> bool:
    return name in DELIVERY_CHANNELS
