"""Counting what a simulator answered, per recipient (device token, subscription) and per status.

Per-recipient counts are two plain dicts so that 100k recipients cost a few MB and
the hot path one dict update each; each simulator keeps full requests only for
its most recent `history_size` requests, so memory stays bounded during benchmarks.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

DEFAULT_HISTORY_SIZE = 10_000


class DeliveryCounts:
    """Requests by status, and per recipient: how many arrived and how many got `success_status`."""

    def __init__(self, success_status: int) -> None:
        self._success_status = success_status
        self.reset()

    def reset(self) -> None:
        self.received: dict[str, int] = {}
        self.delivered: dict[str, int] = {}
        self.by_status: Counter[int] = Counter()

    def count(self, recipient: str | None, status: int) -> None:
        """The hot path: counters only (`recipient` None: the request named none)."""
        self.by_status[status] += 1
        if recipient is None:
            return
        self.received[recipient] = self.received.get(recipient, 0) + 1
        if status == self._success_status:
            self.delivered[recipient] = self.delivered.get(recipient, 0) + 1

    def totals(self) -> dict[str, Any]:
        """total, delivered and by_status, as the control API's stats report them."""
        return {
            "total": sum(self.by_status.values()),
            "delivered": self.by_status.get(self._success_status, 0),
            "by_status": {str(status): n for status, n in sorted(self.by_status.items())},
        }

    def per_recipient(self) -> dict[str, dict[str, int]]:
        delivered = self.delivered
        return {key: {"received": n, "delivered": delivered.get(key, 0)} for key, n in self.received.items()}


def json_or_text(data: bytes) -> Any:
    """A request body as JSON when it parses, else as text (so a malformed payload still shows)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode(errors="replace")
