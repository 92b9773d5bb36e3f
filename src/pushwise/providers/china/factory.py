"""Building a vendor adapter from an app's stored configuration (public part and opened secret)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pushwise.domain.china.vendors import CategoryClass
from pushwise.domain.clock import Clock
from pushwise.providers.base import Provider
from pushwise.providers.china.base import ClassLookup
from pushwise.providers.china.honor import HonorProvider
from pushwise.providers.china.huawei import HuaweiProvider
from pushwise.providers.china.oauth import OAuthCredentials
from pushwise.providers.china.oppo import OppoCredentials, OppoProvider
from pushwise.providers.china.vivo import VivoCredentials, VivoProvider
from pushwise.providers.china.xiaomi import XiaomiCredentials, XiaomiProvider
from pushwise.providers.webpush_transport import NegotiatedTransport

# What each vendor's stored configuration must hold: (public fields, secret fields).
REQUIRED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "huawei": (("client_id",), ("client_secret",)),
    "honor": (("app_id", "client_id"), ("client_secret",)),
    "xiaomi": (("package_name",), ("app_secret",)),
    "oppo": (("app_key",), ("master_secret",)),
    "vivo": (("app_id", "app_key"), ("app_secret",)),
}

# The most requests in flight to one vendor from one process: a batch carries 1,000 tokens.
MAX_IN_FLIGHT = 64


def vendor_transport(public: Mapping[str, Any]) -> NegotiatedTransport:
    """HTTP/1.1 or h2 as ALPN decides; plain `http` only to an endpoint configured that way
    (which the configuration allowed only under `PUSHWISE_ALLOW_PRIVATE_ENDPOINTS`)."""
    urls = [public.get("endpoint") or "", public.get("token_uri") or ""]
    return NegotiatedTransport(
        ca_file=public.get("ca_file"),
        max_in_flight=MAX_IN_FLIGHT,
        allow_http=any(url.startswith("http://") for url in urls),
    )


def vendor_identity(vendor: str, public: Mapping[str, Any], secret: Mapping[str, Any]) -> str:
    """Who the stored configuration speaks for; `ValueError` naming what is missing or empty."""
    public_fields, secret_fields = REQUIRED[vendor]
    missing = [name for name in public_fields if not public.get(name)]
    missing += [name for name in secret_fields if not secret.get(name)]
    if missing:
        raise ValueError(f"the {vendor} configuration lacks {', '.join(missing)}")
    return f"{vendor} {public_fields[-1]} {public[public_fields[-1]]}"


def build_vendor_provider(
    vendor: str,
    public: Mapping[str, Any],
    secret: Mapping[str, Any],
    clock: Clock,
    *,
    timeout: float = 10.0,
    categories: dict[str, CategoryClass] | None = None,
    classes: ClassLookup | None = None,
) -> Provider:
    vendor_identity(vendor, public, secret)
    transport = vendor_transport(public)
    endpoint, ca_file = public.get("endpoint"), public.get("ca_file")
    options: dict[str, Any] = {"timeout": timeout, "categories": categories, "classes": classes}
    if vendor in ("huawei", "honor"):
        oauth = OAuthCredentials(
            public["client_id"],
            secret["client_secret"],
            public.get("app_id", ""),
            endpoint,
            public.get("token_uri"),
            ca_file,
        )
        provider = HuaweiProvider if vendor == "huawei" else HonorProvider
        return provider(oauth, transport, clock, **options)
    if vendor == "xiaomi":
        xiaomi = XiaomiCredentials(
            secret["app_secret"],
            public["package_name"],
            public.get("marketing_channel_id"),
            public.get("receipt_url"),
            endpoint,
            ca_file,
        )
        return XiaomiProvider(xiaomi, transport, clock, **options)
    if vendor == "oppo":
        oppo = OppoCredentials(
            public["app_key"],
            secret["master_secret"],
            public.get("marketing_channel_id"),
            public.get("receipt_url"),
            endpoint,
            ca_file,
        )
        return OppoProvider(oppo, transport, clock, **options)
    if vendor == "vivo":
        vivo = VivoCredentials(
            public["app_id"],
            public["app_key"],
            secret["app_secret"],
            public.get("receipt_url"),
            endpoint,
            ca_file,
        )
        return VivoProvider(vivo, transport, clock, **options)
    raise ValueError(f"unknown vendor {vendor!r}")
