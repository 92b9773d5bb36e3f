"""Throttled rollout: sends paced to a rate, exactly, across every worker.

Each paced stream (a notification's `rate_per_minute`, an app's `max_per_minute` for a
channel) keeps one number, the earliest time its next send may go (the generic cell
rate algorithm's "theoretical arrival time"). A delivery takes the next free slot: at
once if that slot is now, else it is deferred to its slot and keeps it, so when it
comes back it goes without taking another. Slots are `60 / rate` seconds apart, so any
minute holds at most `rate` sends (plus the one on its boundary), however many workers
take slots, since the store hands the number out under a lock.
"""

from __future__ import annotations

from dataclasses import dataclass

RATE_REASON_PREFIX = "rate:"


@dataclass(frozen=True, slots=True)
class Slot:
    at: float  # when the delivery may go
    next_free: float  # the stream's next free slot after this one


def take_slot(next_free: float | None, per_minute: float, now: float) -> Slot:
    interval = 60.0 / per_minute
    at = now if next_free is None or next_free <= now else next_free
    return Slot(at, at + interval)


def holds_slot(last_reason: str | None) -> bool:
    """A delivery the pace deferred already owns the slot it was deferred to."""
    return last_reason is not None and last_reason.startswith(RATE_REASON_PREFIX)


def notification_stream(notification_id: str) -> str:
    return f"n:{notification_id}"


def channel_stream(app_id: str, channel: str) -> str:
    return f"c:{app_id}:{channel}"
