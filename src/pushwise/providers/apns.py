"""The APNs provider: one delivery in, one outcome out, over the HTTP/2 transport seam.

Source: Apple, "Sending notification requests to APNs" (POST /3/device/<token>, the
apns-* headers, `authorization: bearer <jwt>` for token auth) and "Handling
notification responses from APNs" (status, JSON `reason`, `Retry-After`).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from pushwise.domain.apns_errors import classify_apns
from pushwise.domain.apns_message import ApnsMessage, PayloadTooLarge, apns_id_for, render_shared
from pushwise.domain.clock import Clock
from pushwise.domain.outcomes import Outcome, OutcomeKind, local_rejection, transport_failure
from pushwise.providers.apns_auth import CertificateIdentity, ProviderTokens, load_certificate_identity
from pushwise.providers.base import Dispatch, open_connections
from pushwise.providers.http2.options import ConnectionOptions
from pushwise.providers.http2.pyreqwest_transport import PyreqwestTransport
from pushwise.providers.renderings import PerNotification
from pushwise.providers.retry_after import parse_retry_after
from pushwise.providers.transport import Http2Transport, TransportError

ENDPOINTS = {
    "production": "https://api.push.apple.com",
    "development": "https://api.sandbox.push.apple.com",
}


@dataclass(frozen=True)
class ApnsCredentials:
    """One app's APNs identity: token auth (team, key id, .p8 key) or a client certificate."""

    topic: str
    environment: str = "production"
    team_id: str | None = None
    key_id: str | None = None
    private_key_pem: str | None = None
    certificate_pem: str | None = None
    certificate_key_pem: str | None = None
    endpoint: str | None = None
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.environment not in ENDPOINTS:
            raise ValueError(f"APNs environment must be one of {sorted(ENDPOINTS)}")
        token_auth = self.team_id and self.key_id and self.private_key_pem
        if not token_auth and not (self.certificate_pem and self.certificate_key_pem):
            raise ValueError("APNs needs team_id, key_id and private_key_pem, or a certificate and its key")

    @property
    def base_url(self) -> str:
        return (self.endpoint or ENDPOINTS[self.environment]).rstrip("/")


class ApnsProvider:
    channel = "apns"

    def __init__(
        self,
        credentials: ApnsCredentials,
        transport: Http2Transport,
        clock: Clock,
        *,
        timeout: float = 10.0,
        certificate: CertificateIdentity | None = None,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._timeout = timeout
        self._rendered: PerNotification[ApnsMessage] = PerNotification()
        self._topic = credentials.topic
        self._device_url = credentials.base_url + "/3/device/"
        self._tokens: ProviderTokens | None = None
        self._with_bearer: tuple[ApnsMessage, str, dict[str, str]] | None = None
        if credentials.team_id and credentials.key_id and credentials.private_key_pem:
            self._tokens = ProviderTokens(
                team_id=credentials.team_id,
                key_id=credentials.key_id,
                private_key_pem=credentials.private_key_pem,
                clock=clock,
            )
        elif certificate is None and credentials.certificate_pem and credentials.certificate_key_pem:
            certificate = load_certificate_identity(
                credentials.certificate_pem, credentials.certificate_key_pem
            )
        self.certificate = certificate

    def _shared(self, dispatch: Dispatch) -> ApnsMessage:
        """Payload and headers shared by every delivery of a notification, rendered once."""
        spec, expires_at = dispatch.spec, dispatch.expires_at
        return self._rendered.rendered(
            spec, expires_at, lambda: render_shared(spec, topic=self._topic, expires_at=expires_at)
        )

    def _authorised(self, message: ApnsMessage, bearer: str) -> dict[str, str]:
        """The message's headers with the bearer token: made once per notification and token, so a
        send adds only its own `apns-id` (a campaign's sends share both)."""
        kept = self._with_bearer
        if kept is None or kept[0] is not message or kept[1] != bearer:
            kept = self._with_bearer = (message, bearer, {**message.headers, "authorization": bearer})
        return kept[2]

    async def send(self, dispatch: Dispatch) -> Outcome:
        try:
            message = self._shared(dispatch)
        except PayloadTooLarge:
            return local_rejection("PayloadTooLarge")
        url = self._device_url + dispatch.token
        if self._tokens is None:
            headers = {**message.headers, "apns-id": apns_id_for(dispatch.delivery_id)}
            outcome = await self._post(url, headers, message.payload)
        else:
            bearer = self._tokens.bearer()
            headers = {**self._authorised(message, bearer), "apns-id": apns_id_for(dispatch.delivery_id)}
            outcome = await self._post(url, headers, message.payload)
            if outcome.kind is OutcomeKind.REFRESH_CREDENTIALS:
                headers["authorization"] = self._tokens.refresh_rejected(bearer)
                outcome = await self._post(url, headers, message.payload)
        if outcome.kind is OutcomeKind.REFRESH_CREDENTIALS:
            # A freshly minted token was called expired too (clock skew, revoked key):
            # refreshing again cannot help, so the engine must treat it as configuration.
            return Outcome(OutcomeKind.CONFIGURATION, outcome.reason, outcome.provider_status)
        return outcome

    async def _post(self, url: str, headers: dict[str, str], payload: bytes) -> Outcome:
        try:
            response = await self._transport.request(
                "POST", url, headers=headers, body=payload, timeout=self._timeout
            )
        except TransportError as error:
            return transport_failure(error.reason)
        if response.status == 200:
            return Outcome(OutcomeKind.DELIVERED, "", 200, None, response.headers.get("apns-id"))
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
        return classify_apns(
            response.status, _reason(response.body), retry_after, response.headers.get("apns-id")
        )

    def connections(self) -> int:
        return open_connections(self._transport)

    async def close(self) -> None:
        await self._transport.close()


def _reason(body: bytes) -> str:
    """APNs explains a rejection as `{"reason": "..."}`; anything else has no reason."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    reason = parsed.get("reason") if isinstance(parsed, dict) else None
    return reason if isinstance(reason, str) else ""


def build_apns_provider(
    credentials: ApnsCredentials, clock: Clock, *, connections: int = 2, timeout: float = 10.0
) -> ApnsProvider:
    """An APNs provider on the pyreqwest transport (h2c when the endpoint is plain `http://`)."""
    certificate = None
    if credentials.certificate_pem and credentials.certificate_key_pem:
        certificate = load_certificate_identity(credentials.certificate_pem, credentials.certificate_key_pem)
    options = ConnectionOptions(
        connections=connections,
        ca_file=credentials.ca_file,
        identity_pem=certificate.identity_pem if certificate else None,
        prior_knowledge=credentials.base_url.startswith("http://"),
        request_timeout=timeout,
    )
    return ApnsProvider(
        credentials, PyreqwestTransport(options), clock, timeout=timeout, certificate=certificate
    )
