"""The FCM provider: one delivery in, one outcome out, over the HTTP/2 transport seam.

Source: Firebase, "Send a message using FCM HTTP v1 API": `POST
/v1/projects/<project_id>/messages:send` with `authorization: Bearer <OAuth2 access
token>` and `{"message": {...}}`; the reply is `{"name": "projects/<id>/messages/<id>"}`
or a google.rpc error (see `pushwise.domain.fcm_errors`). FCM allows 600,000
messages per minute per project; we stay under it ourselves rather than earn
QUOTA_EXCEEDED for every app sharing the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from pushwise.domain.clock import Clock
from pushwise.domain.fcm_errors import classify_fcm
from pushwise.domain.fcm_message import FcmMessageRejected, addressed, render_unaddressed, ttl_for
from pushwise.domain.outcomes import Outcome, OutcomeKind, local_rejection, transport_failure
from pushwise.domain.rate_limit import SlidingWindowLimit
from pushwise.providers.base import Dispatch, open_connections
from pushwise.providers.google_oauth import AccessTokens, ServiceAccount, TokenExchangeFailed
from pushwise.providers.http2.options import ConnectionOptions
from pushwise.providers.http2.pyreqwest_transport import PyreqwestTransport
from pushwise.providers.renderings import PerNotification
from pushwise.providers.retry_after import parse_retry_after
from pushwise.providers.transport import Http2Transport, TransportError

FCM_ENDPOINT = "https://fcm.googleapis.com"
PROJECT_QUOTA_PER_MINUTE = 600_000


@dataclass(frozen=True)
class FcmCredentials:
    """One app's FCM identity: a service-account key file's JSON, and overrides for simulators."""

    service_account: dict[str, Any] = field(repr=False)
    endpoint: str | None = None
    token_uri: str | None = None
    ca_file: str | None = None

    @property
    def base_url(self) -> str:
        return (self.endpoint or FCM_ENDPOINT).rstrip("/")


def project_quota(clock: Clock) -> SlidingWindowLimit:
    """FCM's per-project send quota; share one between providers that send for the same project."""
    return SlidingWindowLimit(PROJECT_QUOTA_PER_MINUTE, 60.0, clock)


class FcmProvider:
    channel = "fcm"

    def __init__(
        self,
        credentials: FcmCredentials,
        transport: Http2Transport,
        clock: Clock,
        *,
        timeout: float = 10.0,
        tokens: AccessTokens | None = None,
        quota: SlidingWindowLimit | None = None,
    ) -> None:
        account = ServiceAccount.from_json(credentials.service_account, token_uri=credentials.token_uri)
        self.project_id = account.project_id
        self.tokens = tokens or AccessTokens(account, clock, ca_file=credentials.ca_file, timeout=timeout)
        self._transport = transport
        self._clock = clock
        self._timeout = timeout
        self._quota = quota or project_quota(clock)
        self._url = f"{credentials.base_url}/v1/projects/{account.project_id}/messages:send"
        self._rendered: PerNotification[bytes] = PerNotification()

    async def send(self, dispatch: Dispatch) -> Outcome:
        try:
            body = addressed(self._unaddressed(dispatch), dispatch.token)
        except FcmMessageRejected as rejection:
            return local_rejection(rejection.reason)
        wait = self._quota.try_acquire()
        if wait:
            return Outcome(OutcomeKind.RETRY, "LocalQuota", None, wait)
        try:
            bearer = await self.tokens.bearer()
            outcome = await self._post(bearer, body)
            if outcome.kind is OutcomeKind.REFRESH_CREDENTIALS:
                outcome = await self._post(await self.tokens.refresh_rejected(bearer), body)
        except TokenExchangeFailed as failure:
            return self._exchange_outcome(failure)
        if outcome.kind is OutcomeKind.REFRESH_CREDENTIALS:
            # A freshly issued access token was refused too (revoked account, wrong project):
            # exchanging again cannot help, so the engine must treat it as configuration.
            return Outcome(OutcomeKind.CONFIGURATION, outcome.reason, outcome.provider_status)
        return outcome

    def _unaddressed(self, dispatch: Dispatch) -> bytes:
        """The message without its token, rendered once per notification and TTL (which counts down)."""
        spec, expires_at = dispatch.spec, dispatch.expires_at
        ttl_seconds = ttl_for(spec, expires_at, self._clock.now())
        return self._rendered.rendered(
            spec,
            (expires_at, ttl_seconds),
            lambda: render_unaddressed(spec, ttl_seconds=ttl_seconds, expires_at=expires_at),
        )

    async def _post(self, bearer: str, body: bytes) -> Outcome:
        headers = {"authorization": bearer, "content-type": "application/json"}
        try:
            response = await self._transport.request(
                "POST", self._url, headers=headers, body=body, timeout=self._timeout
            )
        except TransportError as error:
            return transport_failure(error.reason)
        retry_after = None
        if response.status != 200:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock.now())
        return classify_fcm(response.status, _json_object(response.body), retry_after)

    def _exchange_outcome(self, failure: TokenExchangeFailed) -> Outcome:
        if failure.retryable:
            return Outcome(OutcomeKind.RETRY, failure.reason, None, self.tokens.failure_wait() or None)
        return local_rejection(failure.reason, OutcomeKind.CONFIGURATION)

    def connections(self) -> int:
        return open_connections(self._transport)

    async def close(self) -> None:
        await self._transport.close()
        await self.tokens.close()


def _json_object(body: bytes) -> dict[str, Any] | None:
    """FCM answers JSON objects; anything else (a proxy's HTML page) has no details to read."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def build_fcm_provider(
    credentials: FcmCredentials,
    clock: Clock,
    *,
    connections: int = 2,
    timeout: float = 10.0,
    quota: SlidingWindowLimit | None = None,
) -> FcmProvider:
    """An FCM provider on the pyreqwest transport; h2c when the endpoint is plain `http://`.

    Pass the same `quota` (see `project_quota`) to every provider sending for one Firebase project.
    """
    options = ConnectionOptions(
        connections=connections,
        ca_file=credentials.ca_file,
        prior_knowledge=credentials.base_url.startswith("http://"),
        request_timeout=timeout,
    )
    return FcmProvider(credentials, PyreqwestTransport(options), clock, timeout=timeout, quota=quota)
