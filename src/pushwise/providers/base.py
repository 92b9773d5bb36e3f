"""The one small protocol every channel adapter implements.

The engine hands a provider a `Dispatch` (everything needed to send one delivery)
and gets back an `Outcome` from the shared error model. A provider never raises
for a provider-side failure: timeouts, lost connections and rejections are all
outcomes, so the engine has exactly one path to handle.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pushwise.domain.notification import NotificationSpec
from pushwise.domain.outcomes import Outcome
from pushwise.domain.values import frozen_value


@frozen_value
class Dispatch:
    delivery_id: int
    app_id: str
    notification_id: str
    channel: str
    token: str
    spec: NotificationSpec
    expires_at: float | None
    attempt: int
    subscription: dict[str, Any] | None = None
    user_id: str | None = None


class Provider(Protocol):
    channel: str

    async def send(self, dispatch: Dispatch) -> Outcome: ...

    async def close(self) -> None: ...


@runtime_checkable
class Pooled(Protocol):
    """A provider or transport that keeps connections open to its endpoint (HTTP/2 pools)."""

    def connections(self) -> int:
        """Connections open now, as far as the client knows (a silently dead one counts until used)."""
        ...


def open_connections(holder: object) -> int:
    """Open connections of a provider or transport; 0 for one that keeps none (inbox, webhooks)."""
    return holder.connections() if isinstance(holder, Pooled) else 0
