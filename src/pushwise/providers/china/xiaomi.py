"""Xiaomi MiPush v3: `Authorization: key=<AppSecret>`, form-encoded, up to 1,000 regIds per request.

`POST {endpoint}/v3/message/regid` with `registration_id` as a comma list. There is no
token to renew: a refused AppSecret (21301) is a configuration error. When pushwise
knows the app's receipt address, `extra.callback` asks Xiaomi to post delivery,
click and invalid-target receipts there (`extra.callback.param` names the notification).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from pushwise.domain.china.errors import VendorAnswer, classify_xiaomi
from pushwise.domain.china.messages import VendorOptions, render_xiaomi
from pushwise.domain.china.vendors import CategoryClass, MessageClass
from pushwise.domain.clock import Clock
from pushwise.providers.base import Dispatch
from pushwise.providers.china.base import FORM, ClassLookup, VendorProvider, json_object
from pushwise.providers.transport import Http2Transport

XIAOMI_ENDPOINT = "https://api.xmpush.xiaomi.com"
# Bits of `extra.callback.type`: 1 delivered, 2 clicked, 16 invalid target (the token is dead).
CALLBACK_TYPES = "19"


@dataclass(frozen=True)
class XiaomiCredentials:
    app_secret: str = field(repr=False)
    package_name: str = ""
    marketing_channel_id: str | None = None
    receipt_url: str | None = None
    endpoint: str | None = None
    ca_file: str | None = None


class XiaomiProvider(VendorProvider[dict[str, str]]):
    channel = "xiaomi"

    def __init__(
        self,
        credentials: XiaomiCredentials,
        transport: Http2Transport,
        clock: Clock,
        *,
        timeout: float = 10.0,
        categories: dict[str, CategoryClass] | None = None,
        classes: ClassLookup | None = None,
    ) -> None:
        super().__init__(transport, clock, timeout=timeout, categories=categories, classes=classes)
        self._url = f"{(credentials.endpoint or XIAOMI_ENDPOINT).rstrip('/')}/v3/message/regid"
        self._headers = {"authorization": f"key={credentials.app_secret}", "content-type": FORM}
        self._options = VendorOptions(credentials.package_name, credentials.marketing_channel_id)
        self._receipt_url = credentials.receipt_url

    def _render(self, dispatch: Dispatch, klass: MessageClass, now: float) -> tuple[Hashable, dict[str, str]]:
        form = render_xiaomi(dispatch.spec, klass, self._options, now=now, expires_at=dispatch.expires_at)
        if self._receipt_url:
            form["extra.callback"] = self._receipt_url
            form["extra.callback.param"] = dispatch.notification_id
            form["extra.callback.type"] = CALLBACK_TYPES
        return tuple(sorted(form.items())), form

    async def _post(self, message: dict[str, str], tokens: Sequence[str], credential: str) -> VendorAnswer:
        body = urlencode({**message, "registration_id": ",".join(tokens)}).encode()
        response = await self._request(self._url, body, self._headers)
        return classify_xiaomi(response.status, json_object(response.body))
