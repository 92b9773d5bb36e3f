"""Check a phone maker's credentials before storing them, with the code that will use them.

Shapes are checked by the request models; here the endpoint overrides follow the SSRF
rule, and the credentials are tried against the vendor's own auth endpoint (OAuth
client credentials for Huawei and Honor, the signed auth request of OPPO and vivo):
a refused secret or signature is a 422 now rather than a configuration error per send.
A service that cannot be reached is not a verdict on the credentials: they are stored
and the answer says `unreachable`.
"""

from __future__ import annotations

from typing import Any

from pushwise.api.errors import ApiError
from pushwise.api.provider_checks import check_overrides
from pushwise.api.schemas.vendors import SECRET_FIELDS, VendorIn
from pushwise.domain.clock import Clock
from pushwise.providers.china.base import VendorProvider
from pushwise.providers.china.factory import build_vendor_provider
from pushwise.providers.token_cache import TokenExchangeFailed
from pushwise.providers.transport import TransportError

Config = dict[str, Any]
OVERRIDES = ("endpoint", "token_uri")


async def check_vendor(
    vendor: str, body: VendorIn, *, allow_private: bool, clock: Clock, receipt_url: str
) -> tuple[Config, Config, str]:
    """(public config, secret, credential check) to store, or an `ApiError` naming the problem."""
    given = body.model_dump(exclude_none=True)
    public: Config = {
        k: v for k, v in given.items() if k not in SECRET_FIELDS and k not in (*OVERRIDES, "ca_file")
    }
    secret: Config = {k: v for k, v in given.items() if k in SECRET_FIELDS}
    await check_overrides(public, body, OVERRIDES, allow_private=allow_private)
    public["receipt_url"] = receipt_url
    return public, secret, await _try_credentials(vendor, public, secret, clock)


async def _try_credentials(vendor: str, public: Config, secret: Config, clock: Clock) -> str:
    provider = build_vendor_provider(vendor, public, secret, clock, timeout=5.0)
    try:
        tokens = provider.tokens if isinstance(provider, VendorProvider) else None
        if tokens is None:
            return "not_available"
        await tokens.token()
    except TokenExchangeFailed as refused:
        if refused.retryable:
            return "unreachable"
        raise ApiError(
            422, "invalid_credentials", f"{vendor} refused these credentials ({refused.reason})", None
        ) from refused
    except TransportError:
        return "unreachable"
    finally:
        await provider.close()
    return "ok"
