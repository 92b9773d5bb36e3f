"""Post user events through `POST /v1/events`, for tests of what reads the user-event log."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

_keys = itertools.count()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


@dataclass(frozen=True)
class Row:
    user: str  # external id
    type: str
    at: float
    value: float | None = None
    key: str | None = None  # the client's event id; a fresh one when None


async def post_events(
    client: httpx.AsyncClient, headers: Mapping[str, str], rows: Sequence[Row]
) -> list[dict[str, Any]]:
    """Posts in batches of 1,000; returns each batch's answer."""
    answers = []
    for start in range(0, len(rows), 1000):
        events = [
            {"id": row.key or f"evt-{next(_keys)}", "type": row.type, "user_id": row.user, "at": iso(row.at)}
            | ({"value": row.value} if row.value is not None else {})
            for row in rows[start : start + 1000]
        ]
        answer = await client.post("/v1/events", json={"events": events}, headers=dict(headers))
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    return answers
