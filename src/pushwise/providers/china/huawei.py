"""Huawei Push Kit v1: OAuth 2.0 client credentials, JSON, up to 1,000 tokens per request.

`POST {endpoint}/v1/{client_id}/messages:send` with `Authorization: Bearer <token>` and
`{"validate_only": false, "message": {..., "token": [...]}}`; Push Kit answers
`{code, msg, requestId}`, usually with HTTP 200 even when it refuses (see
`pushwise.domain.china.errors`). `android.bi_tag` carries the notification id, so the
receipts Huawei posts later name the notification.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import orjson

from pushwise.domain.china.errors import VendorAnswer, classify_huawei
from pushwise.domain.china.messages import render_huawei
from pushwise.domain.china.vendors import MessageClass
from pushwise.providers.base import Dispatch
from pushwise.providers.china.base import JSON, json_object
from pushwise.providers.china.oauth import OAuthCredentials, OAuthVendorProvider


class HuaweiProvider(OAuthVendorProvider):
    channel = "huawei"
    default_endpoint = "https://push-api.cloud.huawei.com"
    default_token_uri = "https://oauth-login.cloud.huawei.com/oauth2/v3/token"  # noqa: S105 - an address

    def send_url(self, base: str, credentials: OAuthCredentials) -> str:
        return f"{base}/v1/{credentials.client_id}/messages:send"

    def _render(self, dispatch: Dispatch, klass: MessageClass, now: float) -> tuple[Hashable, dict[str, Any]]:
        message = render_huawei(dispatch.spec, klass, now=now, expires_at=dispatch.expires_at)
        message["android"]["bi_tag"] = dispatch.notification_id
        return orjson.dumps(message), message

    async def _post(self, message: dict[str, Any], tokens: Sequence[str], credential: str) -> VendorAnswer:
        body = orjson.dumps({"validate_only": False, "message": {**message, "token": list(tokens)}})
        response = await self._request(self._url, body, {"authorization": credential, "content-type": JSON})
        return classify_huawei(response.status, json_object(response.body))
