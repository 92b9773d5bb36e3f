"""What the simulated push service saw: counters, per-subscription counts, recent decrypted messages.

Per-subscription counts are two plain dicts (cheap for 100k subscriptions); full
messages are kept only for the most recent `history_size` pushes so a benchmark's
memory stays bounded.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_HISTORY_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class ReceivedPush:
    subscription: str
    at: float
    status: int
    http_version: str  # "1.1" or "2"
    headers: dict[str, str]
    body_bytes: int
    plaintext: bytes | None  # None: not decrypted (decrypt off, rejected, or undecryptable)
    decrypt_error: str

    def to_dict(self) -> dict[str, Any]:
        payload: Any = None
        if self.plaintext is not None:
            try:
                payload = orjson.loads(self.plaintext)
            except orjson.JSONDecodeError:
                payload = self.plaintext.decode(errors="replace")
        return {
            "subscription": self.subscription,
            "at": self.at,
            "status": self.status,
            "http_version": self.http_version,
            "headers": self.headers,
            "body_bytes": self.body_bytes,
            "plaintext": None if self.plaintext is None else self.plaintext.decode(errors="replace"),
            "payload": payload,
            "decrypt_error": self.decrypt_error or None,
        }


class PushRecorder:
    def __init__(self, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        self._history_size = history_size
        self.reset()

    def reset(self) -> None:
        self.received: dict[str, int] = {}
        self.delivered: dict[str, int] = {}
        self.by_status: Counter[int] = Counter()
        self.undecryptable = 0
        self.history: deque[ReceivedPush] = deque(maxlen=self._history_size)

    def count(self, subscription: str | None, status: int) -> None:
        """The hot path: counters only."""
        self.by_status[status] += 1
        if subscription is None:
            return
        self.received[subscription] = self.received.get(subscription, 0) + 1
        if status == 201:
            self.delivered[subscription] = self.delivered.get(subscription, 0) + 1

    def keep(self, push: ReceivedPush) -> None:
        if push.decrypt_error:
            self.undecryptable += 1
        self.history.append(push)

    def stats(self) -> dict[str, Any]:
        return {
            "total": sum(self.by_status.values()),
            "delivered": self.by_status.get(201, 0),
            "undecryptable": self.undecryptable,
            "by_status": {str(status): n for status, n in sorted(self.by_status.items())},
            "subscriptions": len(self.received),
        }

    def counts(self) -> dict[str, dict[str, int]]:
        delivered = self.delivered
        return {sub: {"received": n, "delivered": delivered.get(sub, 0)} for sub, n in self.received.items()}

    def pushes_for(self, subscription: str) -> list[dict[str, Any]]:
        return [push.to_dict() for push in self.history if push.subscription == subscription]
