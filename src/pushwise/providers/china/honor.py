"""Honor Push: OAuth 2.0 client credentials, camelCase JSON, up to 1,000 tokens per request.

`POST {endpoint}/api/v1/{app_id}/sendMessage` with `Authorization: Bearer <token>` and a
`timestamp` header (milliseconds); the body has no `message` wrapper. Honor answers
`{code, message, data: {sendResult, requestId, failTokens, expireTokens}}`; its error
table was not found, so codes other than success are handled generically.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from pushwise.domain.china.errors import VendorAnswer, classify_honor
from pushwise.domain.china.messages import render_honor
from pushwise.domain.china.vendors import CategoryClass, MessageClass
from pushwise.domain.clock import Clock
from pushwise.providers.base import Dispatch
from pushwise.providers.china.base import JSON, VendorProvider, json_object
from pushwise.providers.china.oauth import client_credentials
from pushwise.providers.transport import Http2Transport

HONOR_ENDPOINT = "https://push-api.cloud.hihonor.com"
HONOR_TOKEN_URI = "https://iam.developer.hihonor.com/auth/realms/developer/protocol/openid-connect/token"  # noqa: S105


@dataclass(frozen=True)
class HonorCredentials:
    app_id: str
    client_id: str
    client_secret: str = field(repr=False)
    endpoint: str | None = None
    token_uri: str | None = None
    ca_file: str | None = None

    @property
    def send_url(self) -> str:
        return f"{(self.endpoint or HONOR_ENDPOINT).rstrip('/')}/api/v1/{self.app_id}/sendMessage"


class HonorProvider(VendorProvider[dict[str, Any]]):
    channel = "honor"

    def __init__(
        self,
        credentials: HonorCredentials,
        transport: Http2Transport,
        clock: Clock,
        *,
        timeout: float = 10.0,
        categories: dict[str, CategoryClass] | None = None,
    ) -> None:
        tokens = client_credentials(
            self.channel,
            transport,
            clock,
            token_uri=credentials.token_uri or HONOR_TOKEN_URI,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            timeout=timeout,
        )
        super().__init__(transport, clock, timeout=timeout, tokens=tokens, categories=categories)
        self._url = credentials.send_url

    def _render(self, dispatch: Dispatch, klass: MessageClass, now: float) -> tuple[Hashable, dict[str, Any]]:
        message = render_honor(dispatch.spec, klass, now=now, expires_at=dispatch.expires_at)
        message["android"]["biTag"] = dispatch.notification_id
        return orjson.dumps(message), message

    async def _post(self, message: dict[str, Any], tokens: Sequence[str], credential: str) -> VendorAnswer:
        body = orjson.dumps({**message, "token": list(tokens)})
        headers = {
            "authorization": credential,
            "content-type": JSON,
            "timestamp": str(int(self._clock.now() * 1000)),
        }
        response = await self._request(self._url, body, headers)
        return classify_honor(response.status, json_object(response.body))
