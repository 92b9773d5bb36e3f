"""The Web Push provider against a recording fake transport: what it sends, and the outcome of each reply."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.providers.base import Dispatch
from pushwise.providers.transport import TransportError, TransportResponse
from pushwise.providers.vapid import check_claims, generate_vapid_keys, verify_authorization
from pushwise.providers.webpush import WebPushCredentials, WebPushProvider
from pushwise.providers.webpush_crypto import b64url_encode, decrypt, public_key_bytes
from pushwise.providers.webpush_transport import Pin

ENDPOINT = "https://push.example.net/wpush/v2/abc"


@dataclass
class FakeTransport:
    replies: list[TransportResponse | TransportError] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes,
        timeout: float,
    ) -> TransportResponse:
        self.requests.append({"method": method, "url": url, "headers": headers, "body": body})
        reply = self.replies.pop(0) if self.replies else TransportResponse(201, {"location": "m1"}, b"")
        if isinstance(reply, TransportError):
            raise reply
        return reply

    async def close(self) -> None:
        self.closed = True


@dataclass
class Browser:
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = bytes(range(16))

    def subscription(self, endpoint: str = ENDPOINT) -> dict[str, Any]:
        keys = {"p256dh": b64url_encode(public_key_bytes(self.key)), "auth": b64url_encode(self.auth)}
        return {"endpoint": endpoint, "keys": keys}


class Harness:
    def __init__(
        self,
        *,
        max_origins: int = 4,
        allow_private: bool = False,
        replies: list[TransportResponse | TransportError] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.replies = replies or []
        self.clock = ManualClock(1_800_000_000)
        self.transports: dict[str, FakeTransport] = {}
        self.pins: dict[str, Pin | None] = {}
        self.dns: dict[str, list[str]] = {}  # host -> addresses; others resolve to a public one
        self.lookups: list[str] = []
        self.credentials = WebPushCredentials("mailto:ops@example.com", generate_vapid_keys()[0])
        self.provider = WebPushProvider(
            self.credentials,
            self.clock,
            self._transport_for,
            max_origins=max_origins,
            allow_private_endpoints=allow_private,
            resolve=self._resolve,
            address_ttl=300.0,
            timeout=timeout,
        )

    async def _resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.dns:
            return ["93.184.216.34"]
        if not self.dns[host]:
            raise OSError(f"no such host {host}")
        return self.dns[host]

    def _transport_for(self, origin: str, pin: Pin | None) -> FakeTransport:
        self.transports[origin] = FakeTransport(list(self.replies))
        self.pins[origin] = pin
        return self.transports[origin]


def dispatch(subscription: dict[str, Any] | None, spec: NotificationSpec | None = None) -> Dispatch:
    spec = spec or NotificationSpec(Content(title="Hi", body="there", data={"k": 1}))
    endpoint = subscription["endpoint"] if subscription else ""
    return Dispatch(7, "app", "n1", "webpush", endpoint, spec, 1_800_000_600.0, 1, subscription=subscription)


async def test_sends_an_encrypted_signed_push_and_keeps_the_location() -> None:
    harness, browser = Harness(), Browser()
    outcome = await harness.provider.send(dispatch(browser.subscription()))
    assert (outcome.kind, outcome.provider_status, outcome.provider_message_id) == (
        OutcomeKind.DELIVERED,
        201,
        "m1",
    )
    [sent] = harness.transports["https://push.example.net"].requests
    assert (sent["method"], sent["url"]) == ("POST", ENDPOINT)
    assert orjson.loads(decrypt(sent["body"], browser.key, browser.auth)) == {
        "title": "Hi",
        "body": "there",
        "data": {"k": 1, "pushwise_delivery_id": 7},  # which delivery: for the app's events
    }
    headers = sent["headers"]
    assert (headers["ttl"], headers["content-encoding"]) == ("600", "aes128gcm")
    claims = verify_authorization(headers["authorization"])
    check_claims(claims, origin="https://push.example.net", now=harness.clock.now())
    assert claims.public_key == harness.credentials.vapid_public_key


@pytest.mark.parametrize(
    ("reply", "kind", "retry_after"),
    [
        (TransportResponse(410, {}, b""), OutcomeKind.TOKEN_DEAD, None),
        (TransportResponse(429, {"retry-after": "12"}, b""), OutcomeKind.RETRY, 12.0),
        (TransportResponse(401, {}, b""), OutcomeKind.CONFIGURATION, None),
        (TransportError("Timeout"), OutcomeKind.RETRY, None),
        (TransportError("ConnectError"), OutcomeKind.RETRY, None),
    ],
)
async def test_replies_and_transport_failures_become_outcomes(
    reply: TransportResponse | TransportError, kind: OutcomeKind, retry_after: float | None
) -> None:
    harness, browser = Harness(replies=[reply]), Browser()
    outcome = await harness.provider.send(dispatch(browser.subscription()))
    assert (outcome.kind, outcome.retry_after) == (kind, retry_after)


@pytest.mark.parametrize(
    "subscription",
    [
        None,
        {"endpoint": ENDPOINT},
        {"endpoint": ENDPOINT, "keys": {"p256dh": "AAAA", "auth": b64url_encode(bytes(16))}},
        {"endpoint": ENDPOINT, "keys": {"p256dh": b64url_encode(b"\x04" + bytes(64)), "auth": "AAAA"}},
    ],
    ids=["none", "no-keys", "short-point", "off-curve"],
)
async def test_unusable_subscription_is_dead_without_a_request(subscription: dict[str, Any] | None) -> None:
    harness = Harness()
    outcome = await harness.provider.send(dispatch(subscription))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.TOKEN_DEAD, "InvalidSubscription")
    assert harness.transports == {}


async def test_too_large_payload_is_refused_before_sending() -> None:
    harness = Harness()
    spec = NotificationSpec(Content(body="x" * 4000))
    outcome = await harness.provider.send(dispatch(Browser().subscription(), spec))
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (
        OutcomeKind.PERMANENT,
        "PayloadTooLarge",
        None,
    )
    assert harness.transports == {}


async def test_private_or_plain_http_endpoints_are_refused_unless_allowed() -> None:
    local = Browser().subscription("http://127.0.0.1:8080/push/x")
    refused = await Harness().provider.send(dispatch(local))
    assert refused.kind is OutcomeKind.PERMANENT
    assert refused.reason == "invalid_endpoint"
    allowed = Harness(allow_private=True)
    assert (await allowed.provider.send(dispatch(local))).kind is OutcomeKind.DELIVERED
    assert (
        verify_authorization(
            allowed.transports["http://127.0.0.1:8080"].requests[0]["headers"]["authorization"]
        ).audience
        == "http://127.0.0.1:8080"
    )


async def test_least_recently_used_origin_is_closed_beyond_the_limit() -> None:
    harness, browser = Harness(max_origins=2, timeout=0.0), Browser()
    for host in ("a", "b", "a", "c"):
        await harness.provider.send(dispatch(browser.subscription(f"https://{host}.example.net/p/1")))
    for _ in range(3):  # the evicted transport closes in the background, after a grace of `timeout`
        await asyncio.sleep(0)
    transports = harness.transports
    assert [transports[f"https://{h}.example.net"].closed for h in "abc"] == [False, True, False]
    await harness.provider.close()
    assert [len(transports[f"https://{h}.example.net"].requests) for h in "abc"] == [2, 1, 1]
    assert all(t.closed for t in transports.values())


async def test_each_origin_is_pinned_to_an_address_checked_public() -> None:
    harness, browser = Harness(), Browser()
    await asyncio.gather(*(harness.provider.send(dispatch(browser.subscription())) for _ in range(5)))
    assert harness.lookups == ["push.example.net"]  # concurrent first requests share one lookup
    assert harness.pins["https://push.example.net"] == Pin("push.example.net", "93.184.216.34", 443)
    assert len(harness.transports["https://push.example.net"].requests) == 5


async def test_a_host_resolving_to_a_private_address_is_a_permanent_failure_without_a_request() -> None:
    harness, browser = Harness(), Browser()
    harness.dns["push.example.net"] = ["93.184.216.34", "10.0.0.7"]
    outcome = await harness.provider.send(dispatch(browser.subscription()))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "private_endpoint_refused")
    assert harness.transports == {}


async def test_the_address_is_checked_again_when_the_pin_expires() -> None:
    harness, browser = Harness(timeout=0.0), Browser()
    assert (await harness.provider.send(dispatch(browser.subscription()))).kind is OutcomeKind.DELIVERED
    first = harness.transports["https://push.example.net"]
    harness.clock.advance(299)
    assert (await harness.provider.send(dispatch(browser.subscription()))).kind is OutcomeKind.DELIVERED
    assert harness.lookups == ["push.example.net"]
    harness.dns["push.example.net"] = ["127.0.0.1"]  # DNS rebinding
    harness.clock.advance(2)
    outcome = await harness.provider.send(dispatch(browser.subscription()))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "private_endpoint_refused")
    for _ in range(3):
        await asyncio.sleep(0)
    assert first.closed
    assert len(first.requests) == 2
    harness.dns["push.example.net"] = ["2606:2800:220:1::1"]
    assert (await harness.provider.send(dispatch(browser.subscription()))).kind is OutcomeKind.DELIVERED
    assert harness.pins["https://push.example.net"] == Pin("push.example.net", "2606:2800:220:1::1", 443)


async def test_an_unresolvable_host_is_retried_later() -> None:
    harness, browser = Harness(), Browser()
    harness.dns["push.example.net"] = []
    outcome = await harness.provider.send(dispatch(browser.subscription()))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.RETRY, "ConnectError")


@pytest.mark.parametrize(
    "endpoint",
    ["https://push.example.net./p/1", "https://pu%73h.example.net/p/1", "https://pü.example.net/p/1"],
)
async def test_hosts_the_client_would_spell_differently_are_refused(endpoint: str) -> None:
    harness = Harness()
    outcome = await harness.provider.send(dispatch(Browser().subscription(endpoint)))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "invalid_endpoint")
    assert harness.lookups == []


async def test_allowed_private_endpoints_and_ip_literals_are_not_pinned() -> None:
    harness = Harness(allow_private=True)
    await harness.provider.send(dispatch(Browser().subscription("https://push.example.net/p/1")))
    public_ip = Harness()
    await public_ip.provider.send(dispatch(Browser().subscription("https://93.184.216.34/p/1")))
    assert harness.pins == {"https://push.example.net": None}
    assert public_ip.pins == {"https://93.184.216.34": None}
    assert harness.lookups == public_ip.lookups == []
