"""What the simulated push service saw: counters, per-subscription counts, recent decrypted messages."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from pushwise.simulators.recording import DEFAULT_HISTORY_SIZE, DeliveryCounts, json_or_text


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
        return {
            "subscription": self.subscription,
            "at": self.at,
            "status": self.status,
            "http_version": self.http_version,
            "headers": self.headers,
            "body_bytes": self.body_bytes,
            "plaintext": None if self.plaintext is None else self.plaintext.decode(errors="replace"),
            "payload": None if self.plaintext is None else json_or_text(self.plaintext),
            "decrypt_error": self.decrypt_error or None,
        }


class PushRecorder:
    def __init__(self, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        self._history_size = history_size
        self.reset()

    def reset(self) -> None:
        self.deliveries = DeliveryCounts(success_status=201)
        self.undecryptable = 0
        self.history: deque[ReceivedPush] = deque(maxlen=self._history_size)

    def count(self, subscription: str | None, status: int) -> None:
        """The hot path: counters only."""
        self.deliveries.count(subscription, status)

    def keep(self, push: ReceivedPush) -> None:
        if push.decrypt_error:
            self.undecryptable += 1
        self.history.append(push)

    def stats(self) -> dict[str, Any]:
        return {
            **self.deliveries.totals(),
            "undecryptable": self.undecryptable,
            "subscriptions": len(self.deliveries.received),
        }

    def counts(self) -> dict[str, dict[str, int]]:
        return self.deliveries.per_recipient()

    def pushes_for(self, subscription: str) -> list[dict[str, Any]]:
        return [push.to_dict() for push in self.history if push.subscription == subscription]
