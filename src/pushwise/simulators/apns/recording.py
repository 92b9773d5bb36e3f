"""What the simulated APNs (and FCM) saw: per-token counts, overall counters and recent requests."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from pushwise.simulators.recording import DEFAULT_HISTORY_SIZE, DeliveryCounts, json_or_text

__all__ = ["DEFAULT_HISTORY_SIZE", "ReceivedRequest", "Recorder"]


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    token: str
    at: float
    headers: dict[str, str]
    body: bytes
    status: int  # 0 when the connection was dropped instead of answering
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "at": self.at,
            "headers": self.headers,
            "payload": json_or_text(self.body) if self.body else None,
            "status": self.status,
            "reason": self.reason,
        }


class Recorder:
    def __init__(self, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        self._history_size = history_size
        self.reset()

    def reset(self) -> None:
        self.deliveries = DeliveryCounts(success_status=200)
        self.by_reason: Counter[str] = Counter()
        self.connection_events: Counter[str] = Counter()
        self.history: deque[ReceivedRequest] = deque(maxlen=self._history_size)

    def record(
        self, token: str | None, headers: dict[str, str], body: bytes, status: int, reason: str, at: float
    ) -> None:
        self.deliveries.count(token, status)
        if reason:
            self.by_reason[reason] += 1
        if token is None:
            return
        self.history.append(ReceivedRequest(token, at, headers, body, status, reason))

    def stats(self) -> dict[str, Any]:
        deliveries = self.deliveries
        return {
            **deliveries.totals(),
            "dropped": deliveries.by_status.get(0, 0),
            "by_reason": dict(sorted(self.by_reason.items())),
            "tokens": len(deliveries.received),
            "connection_events": dict(self.connection_events),
        }

    def token_counts(self) -> dict[str, dict[str, int]]:
        return self.deliveries.per_recipient()

    def requests_for(self, token: str) -> list[dict[str, Any]]:
        return [entry.to_dict() for entry in self.history if entry.token == token]
