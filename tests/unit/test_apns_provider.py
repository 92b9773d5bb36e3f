from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from email.utils import format_datetime

import jwt
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pushwise.domain.apns_message import apns_id_for
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.providers.apns import ApnsCredentials, ApnsProvider
from pushwise.providers.base import Dispatch
from pushwise.providers.transport import TransportError, TransportResponse

TOKEN = "a" * 64


@dataclass
class SentRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout: float


@dataclass
class ScriptedTransport:
    """Answers requests from a script, in order; records what was sent."""

    script: list[TransportResponse | TransportError]
    sent: list[SentRequest] = field(default_factory=list)
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
        self.sent.append(SentRequest(method, url, dict(headers), body, timeout))
        reply = self.script.pop(0)
        if isinstance(reply, TransportError):
            raise reply
        return reply

    async def close(self) -> None:
        self.closed = True


def reply(status: int, reason: str | None = None, **headers: str) -> TransportResponse:
    body = orjson.dumps({"reason": reason}) if reason else b""
    return TransportResponse(status, {k.replace("_", "-"): v for k, v in headers.items()}, body)


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def credentials(key: ec.EllipticCurvePrivateKey) -> ApnsCredentials:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return ApnsCredentials(
        topic="com.example.app", team_id="TEAM123456", key_id="KEY1234567", private_key_pem=pem
    )


def dispatch(delivery_id: int = 7, body: str = "hello") -> Dispatch:
    return Dispatch(
        delivery_id=delivery_id,
        app_id="app",
        notification_id="n1",
        channel="apns",
        token=TOKEN,
        spec=NotificationSpec(content=Content(title="Hi", body=body)),
        expires_at=1_800_003_600.0,
        attempt=1,
    )


def provider(
    credentials: ApnsCredentials,
    *script: TransportResponse | TransportError,
    clock: ManualClock | None = None,
) -> tuple[ApnsProvider, ScriptedTransport]:
    transport = ScriptedTransport(list(script))
    return ApnsProvider(credentials, transport, clock or ManualClock(), timeout=3.0), transport


async def test_delivery_posts_the_rendered_notification_with_a_bearer_token(
    credentials: ApnsCredentials, key: ec.EllipticCurvePrivateKey
) -> None:
    apns, transport = provider(credentials, reply(200, apns_id="the-id"))
    outcome = await apns.send(dispatch())
    assert (outcome.kind, outcome.provider_status, outcome.provider_message_id) == (
        OutcomeKind.DELIVERED,
        200,
        "the-id",
    )
    [sent] = transport.sent
    assert (sent.method, sent.url, sent.timeout) == (
        "POST",
        f"https://api.push.apple.com/3/device/{TOKEN}",
        3.0,
    )
    assert orjson.loads(sent.body) == {"aps": {"alert": {"title": "Hi", "body": "hello"}}}
    assert sent.headers["apns-topic"] == "com.example.app"
    assert sent.headers["apns-id"] == apns_id_for(7)
    assert sent.headers["apns-expiration"] == "1800003600"
    token = sent.headers["authorization"].removeprefix("bearer ")
    claims = jwt.decode(token, key.public_key(), algorithms=["ES256"], options={"verify_iat": False})
    assert claims["iss"] == "TEAM123456"


async def test_the_bearer_token_is_shared_until_it_is_fifty_minutes_old(credentials: ApnsCredentials) -> None:
    clock = ManualClock()
    apns, transport = provider(credentials, reply(200), reply(200), reply(200), clock=clock)
    await apns.send(dispatch(1))
    clock.advance(30 * 60)
    await apns.send(dispatch(2))
    clock.advance(20 * 60)
    await apns.send(dispatch(3))
    bearers = [sent.headers["authorization"] for sent in transport.sent]
    assert bearers[0] == bearers[1] != bearers[2]


async def test_development_environment_and_endpoint_override(credentials: ApnsCredentials) -> None:
    apns, transport = provider(replace(credentials, environment="development"), reply(200))
    await apns.send(dispatch())
    assert transport.sent[0].url.startswith("https://api.sandbox.push.apple.com/3/device/")
    apns, transport = provider(replace(credentials, endpoint="https://127.0.0.1:8443/"), reply(200))
    await apns.send(dispatch())
    assert transport.sent[0].url == f"https://127.0.0.1:8443/3/device/{TOKEN}"


async def test_a_payload_over_the_limit_is_rejected_without_sending(credentials: ApnsCredentials) -> None:
    apns, transport = provider(credentials)
    outcome = await apns.send(dispatch(body="x" * 5000))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "PayloadTooLarge")
    assert transport.sent == []


async def test_expired_provider_token_mints_a_new_token_and_retries_once(
    credentials: ApnsCredentials,
) -> None:
    apns, transport = provider(credentials, reply(403, "ExpiredProviderToken"), reply(200))
    outcome = await apns.send(dispatch())
    assert outcome.kind is OutcomeKind.DELIVERED
    first, second = transport.sent
    assert first.headers["authorization"] != second.headers["authorization"]
    assert first.headers["apns-id"] == second.headers["apns-id"]


async def test_a_fresh_token_called_expired_again_is_a_configuration_error(
    credentials: ApnsCredentials,
) -> None:
    apns, transport = provider(
        credentials, reply(403, "ExpiredProviderToken"), reply(403, "ExpiredProviderToken")
    )
    outcome = await apns.send(dispatch())
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (
        OutcomeKind.CONFIGURATION,
        "ExpiredProviderToken",
        403,
    )
    assert len(transport.sent) == 2


@pytest.mark.parametrize(
    ("status", "reason", "kind"),
    [
        (410, "Unregistered", OutcomeKind.TOKEN_DEAD),
        (400, "BadDeviceToken", OutcomeKind.TOKEN_DEAD),
        (403, "InvalidProviderToken", OutcomeKind.CONFIGURATION),
        (400, "BadTopic", OutcomeKind.CONFIGURATION),
        (400, "BadExpirationDate", OutcomeKind.PERMANENT),
        (503, "ServiceUnavailable", OutcomeKind.RETRY),
    ],
)
async def test_rejections_map_through_the_error_table(
    credentials: ApnsCredentials, status: int, reason: str, kind: OutcomeKind
) -> None:
    apns, _ = provider(credentials, reply(status, reason))
    outcome = await apns.send(dispatch())
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (kind, reason, status)


async def test_retry_after_in_seconds(credentials: ApnsCredentials) -> None:
    apns, _ = provider(credentials, reply(429, "TooManyRequests", retry_after="120"))
    outcome = await apns.send(dispatch())
    assert (outcome.kind, outcome.retry_after) == (OutcomeKind.RETRY, 120.0)


async def test_retry_after_as_an_http_date(credentials: ApnsCredentials) -> None:
    clock = ManualClock(1_800_000_000.0)
    when = datetime.datetime.fromtimestamp(1_800_000_090, tz=datetime.UTC)
    apns, _ = provider(
        credentials, reply(503, "Shutdown", retry_after=format_datetime(when, usegmt=True)), clock=clock
    )
    outcome = await apns.send(dispatch())
    assert (outcome.kind, outcome.retry_after) == (OutcomeKind.RETRY, 90.0)


async def test_a_body_that_is_not_json_gives_a_status_reason(credentials: ApnsCredentials) -> None:
    apns, _ = provider(credentials, TransportResponse(502, {}, b"<html>bad gateway</html>"))
    outcome = await apns.send(dispatch())
    assert (outcome.kind, outcome.reason) == (OutcomeKind.RETRY, "HTTP502")


@pytest.mark.parametrize("reason", ["Timeout", "ConnectionLost", "ConnectError", "GoAway", "TlsError"])
async def test_transport_failures_become_retry_outcomes(credentials: ApnsCredentials, reason: str) -> None:
    apns, _ = provider(credentials, TransportError(reason, "detail"))
    outcome = await apns.send(dispatch())
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (OutcomeKind.RETRY, reason, None)


def _certificate_credentials(not_after: datetime.datetime) -> ApnsCredentials:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Apple Push Services: com.example.app")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(not_after - datetime.timedelta(days=30))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return ApnsCredentials(
        topic="com.example.app",
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        certificate_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )


async def test_certificate_auth_sends_no_authorization_and_exposes_expiry() -> None:
    not_after = datetime.datetime(2031, 1, 1, tzinfo=datetime.UTC)
    apns, transport = provider(_certificate_credentials(not_after), reply(200))
    assert (await apns.send(dispatch())).kind is OutcomeKind.DELIVERED
    assert "authorization" not in transport.sent[0].headers
    assert apns.certificate is not None
    assert apns.certificate.expires_at == not_after


def test_credentials_without_token_or_certificate_are_refused() -> None:
    with pytest.raises(ValueError, match="team_id"):
        ApnsCredentials(topic="t", team_id="T")
    with pytest.raises(ValueError, match="environment"):
        ApnsCredentials(topic="t", environment="staging", team_id="T", key_id="K", private_key_pem="p")


async def test_close_closes_the_transport(credentials: ApnsCredentials) -> None:
    apns, transport = provider(credentials)
    await apns.close()
    assert transport.closed
