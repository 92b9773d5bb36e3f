"""What the simulated APNs saw: per-token counts, overall counters and recent requests.

Per-token counts are two plain dicts so that 100k tokens cost a few MB and the
hot path one dict update each; full requests are kept only for the most recent
`history_size` requests, so memory stays bounded during benchmarks.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_HISTORY_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    token: str
    at: float
    headers: dict[str, str]
    body: bytes
    status: int  # 0 when the connection was dropped instead of answering
    reason: str

    def to_dict(self) -> dict[str, Any]:
        try:
            payload: Any = orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            payload = self.body.decode(errors="replace")
        return {
            "token": self.token,
            "at": self.at,
            "headers": self.headers,
            "payload": payload,
            "status": self.status,
            "reason": self.reason,
        }


class Recorder:
    def __init__(self, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        self._history_size = history_size
        self.reset()

    def reset(self) -> None:
        self.received: dict[str, int] = {}
        self.delivered: dict[str, int] = {}
        self.by_status: Counter[int] = Counter()
        self.by_reason: Counter[str] = Counter()
        self.connection_events: Counter[str] = Counter()
        self.history: deque[ReceivedRequest] = deque(maxlen=self._history_size)

    def record(
        self, token: str | None, headers: dict[str, str], body: bytes, status: int, reason: str, at: float
    ) -> None:
        self.by_status[status] += 1
        if reason:
            self.by_reason[reason] += 1
        if token is None:
            return
        self.received[token] = self.received.get(token, 0) + 1
        if status == 200:
            self.delivered[token] = self.delivered.get(token, 0) + 1
        self.history.append(ReceivedRequest(token, at, headers, body, status, reason))

    def stats(self) -> dict[str, Any]:
        total = sum(self.by_status.values())
        return {
            "total": total,
            "delivered": self.by_status.get(200, 0),
            "dropped": self.by_status.get(0, 0),
            "by_status": {str(status): n for status, n in sorted(self.by_status.items())},
            "by_reason": dict(sorted(self.by_reason.items())),
            "tokens": len(self.received),
            "connection_events": dict(self.connection_events),
        }

    def token_counts(self) -> dict[str, dict[str, int]]:
        delivered = self.delivered
        return {
            token: {"received": n, "delivered": delivered.get(token, 0)} for token, n in self.received.items()
        }

    def requests_for(self, token: str) -> list[dict[str, Any]]:
        return [entry.to_dict() for entry in self.history if entry.token == token]
