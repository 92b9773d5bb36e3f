"""How campaigns send: through the same validation and engine call as `POST /v1/notifications`.

The API layer hands its accept function in (`AcceptBody`), so a campaign's notification is
checked, templated and stored exactly like one a client posts, and carries its campaign's id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

# (app id, a `POST /v1/notifications` body, idempotency key, campaign id) -> the notification's id
AcceptBody = Callable[[str, Mapping[str, Any], str | None, str], Awaitable[str]]

MAX_USERS_PER_NOTIFICATION = 10_000


class CampaignSender:
    def __init__(self, accept: AcceptBody) -> None:
        self._accept = accept

    async def send(
        self,
        app_id: str,
        campaign_id: str,
        body: Mapping[str, Any],
        key: str,
        *,
        user_ids: Sequence[str] | None = None,
    ) -> list[str]:
        """`body` to `user_ids` (else to its own `to`), idempotent by `key` (one per 10,000 users)."""
        if user_ids is None:
            return [await self._accept(app_id, body, key, campaign_id)]
        sent = []
        for start in range(0, len(user_ids), MAX_USERS_PER_NOTIFICATION):
            chunk = list(user_ids[start : start + MAX_USERS_PER_NOTIFICATION])
            part = {**body, "to": {"user_ids": chunk}}
            sent.append(await self._accept(app_id, part, f"{key}:{start}", campaign_id))
        return sent
