"""The browsers' side of the simulated push service: subscriptions with real keys.

Each subscription gets what a browser makes in `pushManager.subscribe()`: a P-256
key pair and a 16-byte auth secret. The public half goes out as
`PushSubscription.toJSON()`; the private half stays here so the service can
decrypt every message it accepts and prove the sender's encryption end to end.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from pushwise.providers.webpush_crypto import AUTH_SECRET_BYTES, b64url_encode, public_key_bytes

PUSH_PREFIX = "/push/"


@dataclass(frozen=True, slots=True)
class SimulatedSubscription:
    id: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    # The VAPID public key the page subscribed with; pushes signed by another key get 403.
    application_server_key: str | None


class SubscriptionBook:
    def __init__(self, origin: str) -> None:
        self._origin = origin
        self._subscriptions: dict[str, SimulatedSubscription] = {}

    def __len__(self) -> int:
        return len(self._subscriptions)

    def get(self, subscription_id: str) -> SimulatedSubscription | None:
        return self._subscriptions.get(subscription_id)

    def create(self, application_server_key: str | None = None) -> dict[str, Any]:
        """A new subscription as `PushSubscription.toJSON()` returns it."""
        key = ec.generate_private_key(ec.SECP256R1())
        subscription = SimulatedSubscription(
            secrets.token_urlsafe(18),
            key,
            os.urandom(AUTH_SECRET_BYTES),
            application_server_key.rstrip("=") if application_server_key else None,
        )
        self._subscriptions[subscription.id] = subscription
        return {
            "endpoint": self.endpoint(subscription.id),
            "expirationTime": None,
            "keys": {
                "p256dh": b64url_encode(public_key_bytes(key)),
                "auth": b64url_encode(subscription.auth_secret),
            },
        }

    def endpoint(self, subscription_id: str) -> str:
        return f"{self._origin}{PUSH_PREFIX}{subscription_id}"


def subscription_id(path: str) -> str | None:
    """The id in `/push/{id}`, or None for any other path."""
    if not path.startswith(PUSH_PREFIX):
        return None
    found = path[len(PUSH_PREFIX) :]
    return found if found and "/" not in found else None
