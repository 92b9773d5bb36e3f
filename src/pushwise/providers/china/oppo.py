"""OPPO Push (HeyTap): a signed `auth_token` (24 h), form-encoded, batches of up to 1,000.

One token goes to `/server/v1/message/notification/unicast` with `message` = the JSON of
`{target_type: 2, target_value, notification}`; more go to `.../unicast_batch` with
`messages` = a JSON list of those, and OPPO answers each item with its own
`errorCode`. `auth_token` travels as a form field (the SDKs' way).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson

from pushwise.domain.china.errors import VendorAnswer, classify_oppo
from pushwise.domain.china.messages import VendorOptions, render_oppo
from pushwise.domain.china.vendors import CategoryClass, MessageClass
from pushwise.domain.clock import Clock
from pushwise.providers.base import Dispatch
from pushwise.providers.china.base import FORM, ClassLookup, VendorProvider, json_object
from pushwise.providers.china.signed_auth import oppo_auth
from pushwise.providers.transport import Http2Transport

OPPO_ENDPOINT = "https://api.push.oppomobile.com"
REGISTRATION_ID = 2  # target_type: one registration id


@dataclass(frozen=True)
class OppoCredentials:
    app_key: str
    master_secret: str = field(repr=False)
    marketing_channel_id: str | None = None
    receipt_url: str | None = None
    endpoint: str | None = None
    ca_file: str | None = None


class OppoProvider(VendorProvider[dict[str, Any]]):
    channel = "oppo"

    def __init__(
        self,
        credentials: OppoCredentials,
        transport: Http2Transport,
        clock: Clock,
        *,
        timeout: float = 10.0,
        categories: dict[str, CategoryClass] | None = None,
        classes: ClassLookup | None = None,
    ) -> None:
        base = (credentials.endpoint or OPPO_ENDPOINT).rstrip("/") + "/server/v1"
        tokens = oppo_auth(
            transport,
            clock,
            url=f"{base}/auth",
            app_key=credentials.app_key,
            master_secret=credentials.master_secret,
            timeout=timeout,
        )
        super().__init__(
            transport, clock, timeout=timeout, tokens=tokens, categories=categories, classes=classes
        )
        self._unicast = f"{base}/message/notification/unicast"
        self._batch = f"{base}/message/notification/unicast_batch"
        self._options = VendorOptions(marketing_channel_id=credentials.marketing_channel_id)
        self._receipt_url = credentials.receipt_url

    def _render(self, dispatch: Dispatch, klass: MessageClass, now: float) -> tuple[Hashable, dict[str, Any]]:
        notification = render_oppo(
            dispatch.spec, klass, self._options, now=now, expires_at=dispatch.expires_at
        )
        if self._receipt_url:
            notification["call_back_url"] = self._receipt_url
            notification["call_back_parameter"] = dispatch.notification_id
        return orjson.dumps(notification), notification

    async def _post(self, message: dict[str, Any], tokens: Sequence[str], credential: str) -> VendorAnswer:
        items = [
            {"target_type": REGISTRATION_ID, "target_value": token, "notification": message}
            for token in tokens
        ]
        if len(items) == 1:
            url, form = self._unicast, {"auth_token": credential, "message": orjson.dumps(items[0]).decode()}
        else:
            url, form = self._batch, {"auth_token": credential, "messages": orjson.dumps(items).decode()}
        response = await self._request(url, urlencode(form).encode(), {"content-type": FORM})
        return classify_oppo(response.status, json_object(response.body))
