"""FcmProvider and its OAuth2 tokens against fakes: a recording transport and an httpx mock token endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pushwise.domain.clock import ManualClock
from pushwise.domain.fcm_errors import FCM_ERROR_TYPE
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.domain.rate_limit import SlidingWindowLimit
from pushwise.providers.base import Dispatch
from pushwise.providers.fcm import FcmCredentials, FcmProvider
from pushwise.providers.google_oauth import FCM_SCOPE, AccessTokens, ServiceAccount, ServiceAccountError
from pushwise.providers.transport import TransportError, TransportResponse

TOKEN_URI = "https://oauth.test/token"
TOKEN = "d" * 40
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "shop-prod",
    "private_key_id": "kid-1",
    "private_key": _KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode(),
    "client_email": "sender@shop-prod.iam.gserviceaccount.com",
    "token_uri": TOKEN_URI,
}


class TokenEndpoint:
    """A Google token endpoint on httpx.MockTransport: answers `status`, counts grants."""

    def __init__(self, status: int = 200, expires_in: int = 3600) -> None:
        self.status = status
        self.expires_in = expires_in
        self.assertions: list[str] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        self.assertions.append(form["assertion"][0])
        if self.gate is not None:
            await self.gate.wait()
        if self.status != 200:
            return httpx.Response(self.status, json={"error": "invalid_grant", "error_description": "no"})
        return httpx.Response(
            200, json={"access_token": f"at-{len(self.assertions)}", "expires_in": self.expires_in}
        )


class Transport:
    """Answers each FCM request with the next scripted reply (the last one repeats)."""

    def __init__(self, *replies: TransportResponse | TransportError) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: bytes,
        timeout: float,
    ) -> TransportResponse:
        self.requests.append((url, dict(headers), body))
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, TransportError):
            raise reply
        return reply

    async def close(self) -> None:
        return None


def ok() -> TransportResponse:
    return TransportResponse(200, {}, orjson.dumps({"name": "projects/shop-prod/messages/0:1"}))


def error(
    status: int, rpc: str, code: str | None = None, headers: dict[str, str] | None = None
) -> TransportResponse:
    details = [{"@type": FCM_ERROR_TYPE, "errorCode": code}] if code else []
    body = {"error": {"code": status, "status": rpc, "message": "m", "details": details}}
    return TransportResponse(status, headers or {}, orjson.dumps(body))


def dispatch(spec: NotificationSpec | None = None) -> Dispatch:
    return Dispatch(7, "app", "n1", "fcm", TOKEN, spec or NotificationSpec(Content(title="hi")), None, 1)


Build = Callable[..., tuple[FcmProvider, Transport, TokenEndpoint]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def build(clock: ManualClock) -> Build:
    def make(
        *replies: TransportResponse | TransportError,
        endpoint: TokenEndpoint | None = None,
        quota: SlidingWindowLimit | None = None,
    ) -> tuple[FcmProvider, Transport, TokenEndpoint]:
        endpoint = endpoint or TokenEndpoint()
        account = ServiceAccount.from_json(SERVICE_ACCOUNT)
        tokens = AccessTokens(account, clock, http=httpx.AsyncClient(transport=httpx.MockTransport(endpoint)))
        transport = Transport(*(replies or (ok(),)))
        provider = FcmProvider(FcmCredentials(SERVICE_ACCOUNT), transport, clock, tokens=tokens, quota=quota)
        return provider, transport, endpoint

    return make


async def test_delivery_posts_the_message_with_a_bearer_token(build: Build) -> None:
    provider, transport, _ = build()
    outcome = await provider.send(dispatch())
    assert (outcome.kind, outcome.provider_message_id) == (
        OutcomeKind.DELIVERED,
        "projects/shop-prod/messages/0:1",
    )
    url, headers, body = transport.requests[0]
    assert url == "https://fcm.googleapis.com/v1/projects/shop-prod/messages:send"
    assert headers["authorization"] == "Bearer at-1"
    assert orjson.loads(body)["message"]["token"] == TOKEN
    await provider.close()


async def test_the_assertion_is_an_rs256_jwt_bearer_grant(build: Build, clock: ManualClock) -> None:
    provider, _, endpoint = build()
    await provider.send(dispatch())
    assertion = endpoint.assertions[0]
    assert jwt.get_unverified_header(assertion)["kid"] == "kid-1"
    claims = jwt.decode(
        assertion,
        _KEY.public_key(),
        algorithms=["RS256"],
        audience=TOKEN_URI,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "iss": SERVICE_ACCOUNT["client_email"],
        "scope": FCM_SCOPE,
        "aud": TOKEN_URI,
        "iat": int(clock.now()),
        "exp": int(clock.now()) + 3600,
    }


async def test_one_token_serves_until_five_minutes_before_expiry(build: Build, clock: ManualClock) -> None:
    provider, transport, endpoint = build()
    await provider.send(dispatch())
    clock.advance(3600 - 300 - 1)
    await provider.send(dispatch())
    assert len(endpoint.assertions) == 1
    clock.advance(1)
    await provider.send(dispatch())
    assert len(endpoint.assertions) == 2
    assert transport.requests[-1][1]["authorization"] == "Bearer at-2"


async def test_concurrent_sends_share_one_token_exchange(build: Build) -> None:
    endpoint = TokenEndpoint()
    endpoint.gate = asyncio.Event()
    provider, _, _ = build(endpoint=endpoint)
    sends = [asyncio.ensure_future(provider.send(dispatch())) for _ in range(50)]
    await asyncio.sleep(0.01)
    endpoint.gate.set()
    outcomes = await asyncio.gather(*sends)
    assert {o.kind for o in outcomes} == {OutcomeKind.DELIVERED}
    assert len(endpoint.assertions) == 1


async def test_unauthenticated_refreshes_once_and_retries_once(build: Build) -> None:
    provider, transport, endpoint = build(error(401, "UNAUTHENTICATED"), ok())
    outcome = await provider.send(dispatch())
    assert outcome.kind is OutcomeKind.DELIVERED
    assert [r[1]["authorization"] for r in transport.requests] == ["Bearer at-1", "Bearer at-2"]
    assert len(endpoint.assertions) == 2


async def test_a_fresh_token_refused_too_is_configuration(build: Build) -> None:
    provider, transport, _ = build(error(401, "UNAUTHENTICATED"))
    outcome = await provider.send(dispatch())
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "UNAUTHENTICATED")
    assert len(transport.requests) == 2


async def test_refused_grant_is_configuration_and_unreachable_endpoint_is_retry(build: Build) -> None:
    provider, transport, _ = build(endpoint=TokenEndpoint(status=400))
    outcome = await provider.send(dispatch())
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "invalid_grant")
    provider, transport, endpoint = build(endpoint=TokenEndpoint(status=503))
    first, second = await provider.send(dispatch()), await provider.send(dispatch())
    assert (first.kind, first.retry_after) == (OutcomeKind.RETRY, 5.0)
    assert second.kind is OutcomeKind.RETRY
    assert len(endpoint.assertions) == 1  # the pause after a failure spares the token endpoint
    assert transport.requests == []


async def test_retry_after_header_is_honoured(build: Build) -> None:
    provider, _, _ = build(error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", {"retry-after": "17"}))
    outcome = await provider.send(dispatch())
    assert (outcome.kind, outcome.reason, outcome.retry_after) == (OutcomeKind.RETRY, "QUOTA_EXCEEDED", 17.0)


async def test_transport_failures_are_retry_outcomes(build: Build) -> None:
    provider, _, _ = build(TransportError("ConnectionLost", "reset"))
    outcome = await provider.send(dispatch())
    assert (outcome.kind, outcome.reason) == (OutcomeKind.RETRY, "ConnectionLost")


async def test_oversize_payload_is_permanent_and_never_sent(build: Build) -> None:
    provider, transport, _ = build()
    outcome = await provider.send(dispatch(NotificationSpec(Content(body="x" * 5000))))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "PayloadTooLarge")
    assert transport.requests == []


async def test_local_quota_answers_retry_with_the_wait_instead_of_sending(
    build: Build, clock: ManualClock
) -> None:
    provider, transport, _ = build(quota=SlidingWindowLimit(2, 60.0, clock, slots=60))
    outcomes = [await provider.send(dispatch()) for _ in range(3)]
    assert [o.kind for o in outcomes] == [OutcomeKind.DELIVERED, OutcomeKind.DELIVERED, OutcomeKind.RETRY]
    assert outcomes[2].reason == "LocalQuota"
    assert outcomes[2].retry_after is not None
    assert 60.0 <= outcomes[2].retry_after <= 61.0
    assert len(transport.requests) == 2
    clock.advance(outcomes[2].retry_after)
    assert (await provider.send(dispatch())).kind is OutcomeKind.DELIVERED


@pytest.mark.parametrize(
    ("change", "problem"),
    [({"client_email": ""}, "missing client_email"), ({"private_key": "nope"}, "not a PEM key")],
)
def test_unusable_service_accounts_are_refused_up_front(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ServiceAccountError, match=problem):
        ServiceAccount.from_json({**SERVICE_ACCOUNT, **change})


async def test_a_token_uri_that_is_no_http_url_is_configuration(clock: ManualClock) -> None:
    account = ServiceAccount.from_json(SERVICE_ACCOUNT, token_uri="ftp://oauth.test/token")
    provider = FcmProvider(
        FcmCredentials(SERVICE_ACCOUNT), Transport(ok()), clock, tokens=AccessTokens(account, clock)
    )
    outcome = await provider.send(dispatch())
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "InvalidTokenUri")
    await provider.close()


def test_token_uri_override_wins_over_the_key_file() -> None:
    assert ServiceAccount.from_json(SERVICE_ACCOUNT, token_uri="http://127.0.0.1:1/token").token_uri == (
        "http://127.0.0.1:1/token"
    )


async def test_devices_of_one_notification_share_its_rendering_as_the_ttl_counts_down(
    build: Build, clock: ManualClock
) -> None:
    provider, transport, _ = build()
    spec = NotificationSpec(Content(title="Sale", body="Today only"))
    expires_at = clock.now() + 600

    def to(token: str) -> Dispatch:
        return Dispatch(7, "app", "n1", "fcm", token, spec, expires_at, 1)

    await provider.send(to("device-a"))
    await provider.send(to("device-b"))
    clock.advance(1.5)
    await provider.send(to("device-a"))
    sent = [orjson.loads(body)["message"] for _, _, body in transport.requests]
    assert [m["token"] for m in sent] == ["device-a", "device-b", "device-a"]
    assert [m["android"]["ttl"] for m in sent] == ["600s", "600s", "599s"]
    assert sent[0] | {"token": "device-b"} == sent[1]
    await provider.close()
