"""vivo Push: a signed `authToken`, JSON; one regId per `send`, 2-1,000 through a saved list payload.

One token: `POST {endpoint}/message/send` with the message and its `regId` and
`requestId` (vivo requires `notifyType`, `skipType` and `requestId` on every send).
More: `POST /message/saveListPayload` (the message, once) answers a `taskId`, then
`POST /message/pushToList` `{regIds, taskId, requestId}` sends it and lists
`invalidUsers`. The token travels in the `authToken` header.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from pushwise.domain.china.errors import VendorAnswer, classify_vivo
from pushwise.domain.china.messages import render_vivo
from pushwise.domain.china.vendors import CategoryClass, MessageClass
from pushwise.domain.clock import Clock
from pushwise.providers.base import Dispatch
from pushwise.providers.china.base import JSON, ClassLookup, VendorProvider, json_object
from pushwise.providers.china.signed_auth import vivo_auth
from pushwise.providers.transport import Http2Transport

VIVO_ENDPOINT = "https://api-push.vivo.com.cn"


@dataclass(frozen=True)
class VivoCredentials:
    app_id: str
    app_key: str
    app_secret: str = field(repr=False)
    receipt_url: str | None = None
    endpoint: str | None = None
    ca_file: str | None = None


class VivoProvider(VendorProvider[dict[str, Any]]):
    channel = "vivo"

    def __init__(
        self,
        credentials: VivoCredentials,
        transport: Http2Transport,
        clock: Clock,
        *,
        timeout: float = 10.0,
        categories: dict[str, CategoryClass] | None = None,
        classes: ClassLookup | None = None,
    ) -> None:
        base = (credentials.endpoint or VIVO_ENDPOINT).rstrip("/") + "/message"
        tokens = vivo_auth(
            transport,
            clock,
            url=f"{base}/auth",
            app_id=credentials.app_id,
            app_key=credentials.app_key,
            app_secret=credentials.app_secret,
            timeout=timeout,
        )
        super().__init__(
            transport, clock, timeout=timeout, tokens=tokens, categories=categories, classes=classes
        )
        self._base = base
        self._receipt_url = credentials.receipt_url
        self._requests = itertools.count(1)

    def _render(self, dispatch: Dispatch, klass: MessageClass, now: float) -> tuple[Hashable, dict[str, Any]]:
        message = render_vivo(dispatch.spec, klass, now=now, expires_at=dispatch.expires_at)
        if self._receipt_url:
            message["extra"] = {"callback": self._receipt_url, "callback.param": dispatch.notification_id}
        message["requestId"] = dispatch.notification_id  # each request gets its own suffix below
        return orjson.dumps(message), message

    def _request_id(self, message: dict[str, Any]) -> str:
        """Unique per request (vivo deduplicates by it), at most 64 characters."""
        return f"{message['requestId']}-{next(self._requests)}"[-64:]

    async def _post(self, message: dict[str, Any], tokens: Sequence[str], credential: str) -> VendorAnswer:
        headers = {"authtoken": credential, "content-type": JSON}
        if len(tokens) == 1:
            body = {**message, "regId": tokens[0], "requestId": self._request_id(message)}
            response = await self._request(f"{self._base}/send", orjson.dumps(body), headers)
            return classify_vivo(response.status, json_object(response.body))
        saved = await self._request(
            f"{self._base}/saveListPayload",
            orjson.dumps({**message, "requestId": self._request_id(message)}),
            headers,
        )
        answer = json_object(saved.body) or {}
        if saved.status != 200 or answer.get("result") != 0 or not answer.get("taskId"):
            return classify_vivo(saved.status, answer)
        push = {"regIds": list(tokens), "taskId": answer["taskId"], "requestId": self._request_id(message)}
        response = await self._request(f"{self._base}/pushToList", orjson.dumps(push), headers)
        return classify_vivo(response.status, json_object(response.body))
