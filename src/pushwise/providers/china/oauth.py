"""The OAuth 2.0 client-credentials grant that Huawei Push Kit and Honor Push use.

`POST token_uri` with the form `grant_type=client_credentials&client_id&client_secret`
answers `{"access_token", "expires_in", "token_type": "Bearer"}` (Huawei: 3600 s;
issuance throttled at 1000 per 5 minutes, so the token is cached and renewed only
shortly before it expires or when the vendor calls it expired).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from pushwise.domain.china.vendors import CategoryClass
from pushwise.domain.clock import Clock
from pushwise.providers.china.base import FORM, ClassLookup, VendorProvider, granted
from pushwise.providers.token_cache import TokenCache
from pushwise.providers.transport import Http2Transport

# Honor does not publish its tokens' lifetime: an answer without `expires_in` is kept this long.
DEFAULT_LIFETIME_SECONDS = 3600.0


def client_credentials(
    vendor: str,
    transport: Http2Transport,
    clock: Clock,
    *,
    token_uri: str,
    client_id: str,
    client_secret: str,
    timeout: float,
) -> TokenCache:
    form = urlencode(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    ).encode()

    async def exchange(now: float) -> tuple[str, float]:
        response = await transport.request(
            "POST", token_uri, headers={"content-type": FORM}, body=form, timeout=timeout
        )
        body = granted(response, "access_token", vendor)
        lifetime = body.get("expires_in")
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME_SECONDS
        return "Bearer " + str(body["access_token"]), float(lifetime)

    return TokenCache(exchange, clock)


@dataclass(frozen=True)
class OAuthCredentials:
    """Huawei's and Honor's app credentials; Honor also names its app in the send path (`app_id`)."""

    client_id: str
    client_secret: str = field(repr=False)
    app_id: str = ""
    endpoint: str | None = None
    token_uri: str | None = None
    ca_file: str | None = None


class OAuthVendorProvider(VendorProvider[dict[str, Any]]):
    """A vendor that sends JSON with a client-credentials bearer token (Huawei, Honor)."""

    default_endpoint: ClassVar[str]
    default_token_uri: ClassVar[str]

    def __init__(
        self,
        credentials: OAuthCredentials,
        transport: Http2Transport,
        clock: Clock,
        *,
        timeout: float = 10.0,
        categories: dict[str, CategoryClass] | None = None,
        classes: ClassLookup | None = None,
    ) -> None:
        tokens = client_credentials(
            self.channel,
            transport,
            clock,
            token_uri=credentials.token_uri or self.default_token_uri,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            timeout=timeout,
        )
        super().__init__(
            transport, clock, timeout=timeout, tokens=tokens, categories=categories, classes=classes
        )
        self._url = self.send_url((credentials.endpoint or self.default_endpoint).rstrip("/"), credentials)

    def send_url(self, base: str, credentials: OAuthCredentials) -> str:
        raise NotImplementedError
