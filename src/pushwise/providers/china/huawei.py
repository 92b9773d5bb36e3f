"""Huawei Push Kit v1: OAuth 2.0 client credentials, JSON, up to 1,000 tokens per request.

`POST {endpoint}/v1/{client_id}/messages:send` with `Authorization: Bearer <token>` and
`{"validate_only": false, "message": {..., "token": [...]}}`; Push Kit answers
`{code, msg, requestId}`, usually with HTTP 200 even when it refuses (see
`pushwise.domain.china.errors`). `android.bi_tag` carries the notification id, so the
receipts Huawei posts later name the notification.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from pushwise.domain.china.errors import VendorAnswer, classify_huawei
from pushwise.domain.china.messages import render_huawei
from pushwise.domain.china.vendors import CategoryClass, MessageClass
from pushwise.domain.clock import Clock
from pushwise.providers.base import Dispatch
from pushwise.providers.china.base import JSON, VendorProvider, json_object
from pushwise.providers.china.oauth import client_credentials
from pushwise.providers.transport import Http2Transport

HUAWEI_ENDPOINT = "https://push-api.cloud.huawei.com"
HUAWEI_TOKEN_URI = "https://oauth-login.cloud.huawei.com/oauth2/v3/token"  # noqa: S105 - an address


@dataclass(frozen=True)
class HuaweiCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    endpoint: str | None = None
    token_uri: str | None = None
    ca_file: str | None = None

    @property
    def send_url(self) -> str:
        return f"{(self.endpoint or HUAWEI_ENDPOINT).rstrip('/')}/v1/{self.client_id}/messages:send"


class HuaweiProvider(VendorProvider[dict[str, Any]]):
    channel = "huawei"

    def __init__(
        self,
        credentials: HuaweiCredentials,
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
            token_uri=credentials.token_uri or HUAWEI_TOKEN_URI,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            timeout=timeout,
        )
        super().__init__(transport, clock, timeout=timeout, tokens=tokens, categories=categories)
        self._url = credentials.send_url

    def _render(self, dispatch: Dispatch, klass: MessageClass, now: float) -> tuple[Hashable, dict[str, Any]]:
        message = render_huawei(dispatch.spec, klass, now=now, expires_at=dispatch.expires_at)
        message["android"]["bi_tag"] = dispatch.notification_id
        return orjson.dumps(message), message

    async def _post(self, message: dict[str, Any], tokens: Sequence[str], credential: str) -> VendorAnswer:
        body = orjson.dumps({"validate_only": False, "message": {**message, "token": list(tokens)}})
        response = await self._request(self._url, body, {"authorization": credential, "content-type": JSON})
        return classify_huawei(response.status, json_object(response.body))
