"""The OAuth 2.0 client-credentials grant that Huawei Push Kit and Honor Push use.

`POST token_uri` with the form `grant_type=client_credentials&client_id&client_secret`
answers `{"access_token", "expires_in", "token_type": "Bearer"}` (Huawei: 3600 s;
issuance throttled at 1000 per 5 minutes, so the token is cached and renewed only
shortly before it expires or when the vendor calls it expired).
"""

from __future__ import annotations

from urllib.parse import urlencode

from pushwise.domain.clock import Clock
from pushwise.providers.china.base import FORM, granted
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
