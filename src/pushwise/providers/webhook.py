"""The webhook channel: POST the rendered notification to the app's own endpoint, signed.

The body is JSON; `Pushwise-Signature` (see `pushwise.domain.signatures`) lets the
receiver prove it came from us and is fresh. Redirects are not followed (a
redirect could lead to a private address), and the connection is opened only to
public addresses unless private endpoints are allowed (`net.public_transport`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import httpx
import orjson

from pushwise.domain.clock import Clock
from pushwise.domain.endpoints import EndpointRefused
from pushwise.domain.outcomes import Outcome, transport_failure
from pushwise.domain.signatures import SIGNATURE_HEADER, sign
from pushwise.domain.webhook_errors import classify_webhook, private_endpoint_refused
from pushwise.net.public_transport import outbound_transport
from pushwise.providers.base import Dispatch
from pushwise.providers.retry_after import parse_retry_after
from pushwise.store.recipients import RecipientRepository


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    url: str
    secret: str


def webhook_body(dispatch: Dispatch, external_user_id: str | None, sent_at: int) -> dict[str, Any]:
    content = {k: v for k, v in asdict(dispatch.spec.content).items() if v not in (None, {})}
    return {
        "type": "notification",
        "app_id": dispatch.app_id,
        "notification_id": dispatch.notification_id,
        "delivery_id": str(dispatch.delivery_id),
        "user_id": external_user_id,
        "content": content,
        "category": dispatch.spec.category,
        "priority": dispatch.spec.priority,
        "attempt": dispatch.attempt,
        "sent_at": sent_at,
    }


class WebhookProvider:
    channel = "webhook"

    def __init__(
        self,
        endpoint: WebhookEndpoint,
        clock: Clock,
        recipients: RecipientRepository,
        *,
        client: httpx.AsyncClient,
        timeout: float,
    ) -> None:
        self._endpoint = endpoint
        self._clock = clock
        self._recipients = recipients
        self._client = client
        self._timeout = timeout

    async def send(self, dispatch: Dispatch) -> Outcome:
        external_id = None
        if dispatch.user_id is not None:
            recipient = await self._recipients.find(dispatch.app_id, dispatch.user_id)
            external_id = recipient.external_id if recipient is not None else None
        sent_at = int(self._clock.now())
        body = orjson.dumps(webhook_body(dispatch, external_id, sent_at))
        headers = {
            "content-type": "application/json",
            "user-agent": "pushwise-webhook/1",
            SIGNATURE_HEADER: sign(self._endpoint.secret, body, sent_at),
        }
        try:
            response = await self._client.post(
                self._endpoint.url, content=body, headers=headers, timeout=self._timeout
            )
        except EndpointRefused:
            return private_endpoint_refused()
        except httpx.TimeoutException:
            return transport_failure("Timeout")
        except httpx.TransportError:
            return transport_failure("ConnectionFailed")
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
        return classify_webhook(response.status_code, retry_after)

    async def close(self) -> None:
        await self._client.aclose()


def build_webhook_provider(
    public: dict[str, Any],
    secret: dict[str, Any],
    clock: Clock,
    *,
    recipients: RecipientRepository,
    allow_private: bool,
    timeout: float,
) -> WebhookProvider:
    """From stored credentials: `public["url"]`, `secret["secret"]`."""
    client = httpx.AsyncClient(
        transport=outbound_transport(allow_private=allow_private), follow_redirects=False
    )
    endpoint = WebhookEndpoint(public["url"], secret["secret"])
    return WebhookProvider(endpoint, clock, recipients, client=client, timeout=timeout)
