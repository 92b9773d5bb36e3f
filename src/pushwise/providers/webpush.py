"""The Web Push provider: encrypt (RFC 8291), sign (VAPID, RFC 8292), POST to the endpoint (RFC 8030).

Every subscription names its own push service, so requests go to many origins
(FCM, Mozilla, Apple, WNS hosts, self-hosted services). Each origin gets its own
transport, kept in a bounded LRU; pyreqwest offers `h2` and `http/1.1` through
ALPN and speaks whichever the service picks (the big three pick h2), and speaks
HTTP/1.1 to plain `http` endpoints (simulators, closed networks). One transport
per origin keeps connection-opening logic per host, where it belongs. Why this
is not the shared HTTP/2-only transport: see `webpush_transport`.

Endpoints are chosen by whoever registers a subscription, so unless private
endpoints are allowed each origin's transport is pinned to an address resolved
and checked public when the transport is built, and rebuilt (re-resolved) after
`address_ttl` seconds to follow the push service's DNS. A host that resolves to
a non-public address is a permanent failure of that subscription, never a retry.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from pushwise.domain.click_links import ClickLinks
from pushwise.domain.clock import Clock
from pushwise.domain.endpoints import Endpoint, EndpointRefused, parse_endpoint
from pushwise.domain.notification import DELIVERY_ID_KEY, Content
from pushwise.domain.outcomes import Outcome, OutcomeKind, local_rejection, transport_failure
from pushwise.domain.webpush_errors import classify_webpush
from pushwise.domain.webpush_message import InvalidWebPushMessage, render
from pushwise.net.endpoint_guard import Resolver, public_addresses, resolve_addresses
from pushwise.providers.base import Dispatch, open_connections
from pushwise.providers.retry_after import parse_retry_after
from pushwise.providers.transport import Http2Transport, TransportError
from pushwise.providers.vapid import (
    VapidSigner,
    generate_vapid_keys,
    load_vapid_private_key,
    validate_subject,
)
from pushwise.providers.webpush_crypto import (
    WebPushCryptoError,
    b64url_decode,
    b64url_encode,
    encrypt,
    public_key_bytes,
)
from pushwise.providers.webpush_transport import NegotiatedTransport, Pin

__all__ = [
    "WebPushCredentials",
    "WebPushProvider",
    "build_webpush_provider",
    "generate_vapid_keys",
    "origin_of",
]

TransportFactory = Callable[[str, Pin | None], Http2Transport]
DEFAULT_MAX_ORIGINS = 64
DEFAULT_ADDRESS_TTL = 300.0
# The client matches a pinned name against the URL's host as its own URL parser
# spells it (IDNA, percent-decoding, a trailing dot kept); only a plain DNS name is
# sure to match, and a miss would let the client resolve the name unchecked.
_PLAIN_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


@dataclass(frozen=True)
class WebPushCredentials:
    """One app's VAPID identity: a contact (`mailto:` or `https:`) and the private key (base64url or PEM)."""

    subject: str
    vapid_private_key: str
    _key: ec.EllipticCurvePrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_subject(self.subject)
        object.__setattr__(self, "_key", load_vapid_private_key(self.vapid_private_key))

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        return self._key

    @property
    def vapid_public_key(self) -> str:
        """The `applicationServerKey` browsers must subscribe with."""
        return b64url_encode(public_key_bytes(self._key))


def origin_of(endpoint: Endpoint) -> str:
    """The RFC 6454 origin of a push endpoint, as VAPID's `aud` wants it: the default port is left out."""
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    default_port = 443 if endpoint.scheme == "https" else 80
    return f"{endpoint.scheme}://{host}" + ("" if endpoint.port == default_port else f":{endpoint.port}")


class WebPushProvider:
    channel = "webpush"

    def __init__(
        self,
        credentials: WebPushCredentials,
        clock: Clock,
        transport_for: TransportFactory,
        *,
        timeout: float = 10.0,
        max_origins: int = DEFAULT_MAX_ORIGINS,
        allow_private_endpoints: bool = False,
        resolve: Resolver = resolve_addresses,
        address_ttl: float = DEFAULT_ADDRESS_TTL,
        links: ClickLinks | None = None,
    ) -> None:
        self._clock = clock
        self._links = links
        self._signer = VapidSigner(credentials.private_key, credentials.subject, clock)
        self._timeout = timeout
        self._allow_private = allow_private_endpoints
        self._resolve = resolve
        self._transports = _OriginTransports(
            transport_for, max_origins, clock, self._pin, address_ttl, grace=timeout
        )

    async def send(self, dispatch: Dispatch) -> Outcome:
        keys = _subscription_keys(dispatch.subscription)
        if keys is None:
            return local_rejection("InvalidSubscription", OutcomeKind.TOKEN_DEAD)
        endpoint_url, ua_public, auth_secret = keys
        try:
            endpoint = parse_endpoint(endpoint_url, allow_private=self._allow_private)
            if not self._allow_private and endpoint.address is None:
                _require_plain_host(endpoint_url)
            message = render(
                dispatch.spec,
                expires_at=dispatch.expires_at,
                now=self._clock.now(),
                content=self._content(dispatch),
            )
            body = encrypt(message.plaintext, ua_public, auth_secret)
        except EndpointRefused as refused:
            return local_rejection(refused.code)
        except InvalidWebPushMessage as invalid:
            return local_rejection(invalid.reason)
        except WebPushCryptoError:
            return local_rejection("InvalidSubscription", OutcomeKind.TOKEN_DEAD)
        origin = origin_of(endpoint)
        headers = message.headers  # a fresh dict per render, ours to extend
        headers["authorization"] = self._signer.authorization(origin)
        try:
            transport = await self._transports.get(origin, endpoint)
        except EndpointRefused as refused:
            return local_rejection(refused.code)
        except OSError:
            return transport_failure("ConnectError")  # DNS failures are usually transient
        try:
            response = await transport.request(
                "POST", endpoint_url, headers=headers, body=body, timeout=self._timeout
            )
        except TransportError as error:
            return transport_failure(error.reason)
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
        return classify_webpush(response.status, response.body, retry_after, response.headers.get("location"))

    def _content(self, dispatch: Dispatch) -> Content:
        """The notification's content for this delivery: its id in the data (Web Push is encrypted per
        delivery anyway), its link through the click redirect."""
        content = dispatch.spec.content
        data = {**content.data, DELIVERY_ID_KEY: dispatch.delivery_id}
        if self._links is None or not content.url:
            return replace(content, data=data)
        return replace(
            content, data=data, url=self._links.wrap(dispatch.app_id, dispatch.delivery_id, content.url)
        )

    def connections(self) -> int:
        return self._transports.connections()

    async def close(self) -> None:
        await self._transports.close()

    async def _pin(self, endpoint: Endpoint) -> Pin | None:
        """None when there is no lookup of ours to check: private endpoints allowed, or an address."""
        if self._allow_private or endpoint.address is not None:
            return None
        addresses = await public_addresses(endpoint.host, endpoint.port, self._resolve)
        return Pin(endpoint.host, str(addresses[0]), endpoint.port)


def _require_plain_host(url: str) -> None:
    if not _PLAIN_HOST.fullmatch(urlsplit(url).hostname or ""):
        raise EndpointRefused("invalid_endpoint", "the host must be a plain DNS name or an IP address")


def _subscription_keys(subscription: dict[str, Any] | None) -> tuple[str, bytes, bytes] | None:
    """(endpoint, p256dh point, auth secret) from a `PushSubscription.toJSON()` dict, or None if unusable."""
    if not isinstance(subscription, dict):
        return None
    endpoint, keys = subscription.get("endpoint"), subscription.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, dict):
        return None
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        return None
    try:
        return endpoint, b64url_decode(p256dh), b64url_decode(auth)
    except WebPushCryptoError:
        return None


@dataclass(frozen=True, slots=True)
class _Open:
    transport: Http2Transport
    fresh_until: float


class _OriginTransports:
    """One transport per push-service origin, the least recently used retired beyond `limit`.

    A pinned transport is rebuilt after `ttl` (the pin function resolves and checks
    the host again); concurrent requests to an origin share one build. A retired
    transport is closed `grace` seconds later (the request timeout), so requests
    still running on it finish; one that does not fails as a transport error, which
    is a retry, never a lost message.
    """

    def __init__(
        self,
        factory: TransportFactory,
        limit: int,
        clock: Clock,
        pin: Callable[[Endpoint], Awaitable[Pin | None]],
        ttl: float,
        *,
        grace: float,
    ) -> None:
        if limit < 1:
            raise ValueError("keep at least one origin")
        self._factory = factory
        self._limit = limit
        self._clock = clock
        self._pin = pin
        self._ttl = ttl
        self._grace = grace
        self._open: OrderedDict[str, _Open] = OrderedDict()
        self._building: dict[str, asyncio.Future[Http2Transport]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def get(self, origin: str, endpoint: Endpoint) -> Http2Transport:
        current = self._open.get(origin)
        if current is not None and self._clock.now() < current.fresh_until:
            self._open.move_to_end(origin)
            return current.transport
        building = self._building.get(origin)
        if building is None:
            building = self._building[origin] = asyncio.ensure_future(self._build(origin, endpoint))
            building.add_done_callback(lambda _: self._building.pop(origin, None))
        return await asyncio.shield(building)

    async def _build(self, origin: str, endpoint: Endpoint) -> Http2Transport:
        stale = self._open.pop(origin, None)
        if stale is not None:
            self._retire(stale.transport)
        pin = await self._pin(endpoint)
        fresh_until = math.inf if pin is None else self._clock.now() + self._ttl
        transport = self._factory(origin, pin)
        self._open[origin] = _Open(transport, fresh_until)
        if len(self._open) > self._limit:
            _, evicted = self._open.popitem(last=False)
            self._retire(evicted.transport)
        return transport

    def connections(self) -> int:
        return sum(open_connections(entry.transport) for entry in self._open.values())

    def _retire(self, transport: Http2Transport) -> None:
        task = asyncio.get_running_loop().create_task(_close_after(transport, self._grace))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        open_now = [entry.transport for entry in self._open.values()]
        self._open.clear()
        for task in self._closing:
            task.cancel()  # skips the grace; the transport is still closed
        await asyncio.gather(*(t.close() for t in open_now), *self._closing, return_exceptions=True)


async def _close_after(transport: Http2Transport, grace: float) -> None:
    try:
        await asyncio.sleep(grace)
    finally:
        await transport.close()


def build_webpush_provider(
    credentials: WebPushCredentials,
    clock: Clock,
    *,
    timeout: float = 10.0,
    ca_file: str | None = None,
    allow_private_endpoints: bool = False,
    max_in_flight_per_origin: int = 256,
    max_origins: int = DEFAULT_MAX_ORIGINS,
    resolve: Resolver = resolve_addresses,
    links: ClickLinks | None = None,
) -> WebPushProvider:
    """A provider whose transports speak h2 or HTTP/1.1 by ALPN over TLS, HTTP/1.1 over plain `http`.

    `max_in_flight_per_origin` bounds concurrent requests to one push service (over
    HTTP/1.1 each is its own connection); `ca_file` trusts a simulator's CA; plain
    `http` and private addresses are refused unless `allow_private_endpoints`;
    `resolve` looks host names up for that check; `links` sends the notification's `url`
    through the click redirect, so clicks are counted without an SDK.
    """

    def transport_for(origin: str, pin: Pin | None) -> Http2Transport:
        return NegotiatedTransport(
            ca_file=ca_file,
            max_in_flight=max_in_flight_per_origin,
            allow_http=allow_private_endpoints,
            pin=pin,
        )

    return WebPushProvider(
        credentials,
        clock,
        transport_for,
        timeout=timeout,
        max_origins=max_origins,
        allow_private_endpoints=allow_private_endpoints,
        resolve=resolve,
        links=links,
    )
