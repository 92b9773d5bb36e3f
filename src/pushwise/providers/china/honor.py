"""Honor Push: OAuth 2.0 client credentials, camelCase JSON, up to 1,000 tokens per request.

`POST {endpoint}/api/v1/{app_id}/sendMessage` with `Authorization: Bearer <token>` and a
`timestamp` header (milliseconds); the body has no `message` wrapper. Honor answers
`{code, message, data: {sendResult, requestId, failTokens, expireTokens}}`; its error
table was not found, so codes other than success are handled generically.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import orjson

from pushwise.domain.china.errors import VendorAnswer, classify_honor
from pushwise.domain.china.messages import render_honor
from pushwise.domain.china.vendors import MessageClass
from pushwise.providers.base import Dispatch
from pushwise.providers.china.base import JSON, json_object
from pushwise.providers.china.oauth import OAuthCredentials, OAuthVendorProvider


class HonorProvider(OAuthVendorProvider):
    channel = "honor"
    default_endpoint = "https://push-api.cloud.hihonor.com"
    default_token_uri = (
        "https://iam.developer.hihonor.com/auth/realms/developer/protocol/openid-connect/token"  # noqa: S105
    )

    def send_url(self, base: str, credentials: OAuthCredentials) -> str:
        return f"{base}/api/v1/{credentials.app_id}/sendMessage"

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
