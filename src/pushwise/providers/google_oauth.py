"""OAuth2 access tokens for a Google service account (the JWT bearer grant, RFC 7523).

Source: Google, "Using OAuth 2.0 for Server to Server Applications": sign a JWT
(RS256, `kid` = `private_key_id`) with claims `iss` = `client_email`, `scope`,
`aud` = `token_uri`, `iat`, `exp` (at most one hour later); POST it to `token_uri` as
`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`; get
`{"access_token", "expires_in"}` back.

Why not `google-auth`: its `service_account.Credentials` reads the wall clock
(`datetime.utcnow`) for the assertion's claims and for deciding expiry, so it
cannot run on pushwise's injected clock; its refresh is synchronous (a thread hop
plus `requests` as a new dependency). The exchange is one signed JWT and one form
POST, so we do it with pyjwt and httpx, which pushwise already depends on.

One access token serves every request, kept by a `TokenCache` (renewed early, when
FCM calls it invalid, by one exchange at a time, with a pause after a failure).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pushwise.domain.clock import Clock
from pushwise.providers.token_cache import (
    FAILURE_PAUSE_SECONDS,
    REFRESH_EARLY_SECONDS,
    TokenCache,
    TokenExchangeFailed,
)

__all__ = ["AccessTokens", "ServiceAccount", "ServiceAccountError", "TokenExchangeFailed"]

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - an address, not a secret
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 3600
_REQUIRED_FIELDS = ("client_email", "private_key", "private_key_id", "project_id")


class ServiceAccountError(ValueError):
    """The service-account JSON cannot be used: retrying cannot help."""


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key: rsa.RSAPrivateKey
    private_key_id: str
    project_id: str
    token_uri: str

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], *, token_uri: str | None = None) -> ServiceAccount:
        """Read a downloaded service-account key file; `token_uri` overrides the file's (simulators)."""
        missing = [name for name in _REQUIRED_FIELDS if not isinstance(raw.get(name), str) or not raw[name]]
        if missing:
            raise ServiceAccountError(f"the service account is missing {', '.join(missing)}")
        try:
            key = serialization.load_pem_private_key(str(raw["private_key"]).encode(), password=None)
        except (ValueError, TypeError) as error:
            raise ServiceAccountError(
                f"the service account's private_key is not a PEM key: {error}"
            ) from error
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ServiceAccountError("the service account's private_key must be an RSA key")
        uri = token_uri or raw.get("token_uri") or GOOGLE_TOKEN_URI
        return cls(
            str(raw["client_email"]), key, str(raw["private_key_id"]), str(raw["project_id"]), str(uri)
        )


class AccessTokens:
    """The current `authorization` header value for one service account."""

    def __init__(
        self,
        account: ServiceAccount,
        clock: Clock,
        *,
        ca_file: str | None = None,
        timeout: float = 10.0,
        refresh_early: float = REFRESH_EARLY_SECONDS,
        failure_pause: float = FAILURE_PAUSE_SECONDS,
        scope: str = FCM_SCOPE,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._account = account
        self._scope = scope
        if http is None:
            verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
            http = httpx.AsyncClient(verify=verify, timeout=timeout)
        self._http = http
        self._cache = TokenCache(self._fetch, clock, refresh_early=refresh_early, failure_pause=failure_pause)

    async def bearer(self) -> str:
        """`Bearer <access token>`, exchanged for a new one shortly before it expires."""
        return "Bearer " + await self._cache.token()

    async def refresh_rejected(self, rejected: str) -> str:
        """A new bearer after FCM answered 401 UNAUTHENTICATED for `rejected`.

        Every request in flight with the rejected token comes here; only the first
        starts an exchange, the rest wait for it or get its result.
        """
        return "Bearer " + await self._cache.refresh_rejected(rejected.removeprefix("Bearer "))

    def failure_wait(self) -> float:
        """Seconds until a failed exchange may be retried (0 when none is pending)."""
        return self._cache.failure_wait()

    async def close(self) -> None:
        await self._http.aclose()

    async def _fetch(self, started: float) -> tuple[str, float]:
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": self._assertion(started)}
        try:
            response = await self._http.post(self._account.token_uri, data=form)
        except httpx.UnsupportedProtocol as error:
            raise TokenExchangeFailed("InvalidTokenUri", str(error), retryable=False) from error
        except httpx.HTTPError as error:
            raise TokenExchangeFailed("TokenEndpointUnreachable", str(error), retryable=True) from error
        return _granted(response)

    def _assertion(self, now: float) -> str:
        issued = int(now)
        claims = {
            "iss": self._account.client_email,
            "scope": self._scope,
            "aud": self._account.token_uri,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME_SECONDS,
        }
        return jwt.encode(
            claims,
            self._account.private_key,
            algorithm="RS256",
            headers={"kid": self._account.private_key_id},
        )


def _granted(response: httpx.Response) -> tuple[str, float]:
    """The access token and its lifetime, or why there is none."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    if response.status_code != 200:
        error = str(body.get("error") or f"HTTP{response.status_code}")
        detail = str(body.get("error_description") or response.text[:200])
        # 4xx other than 429: Google refused the grant itself; asking again gets the same answer.
        retryable = response.status_code == 429 or response.status_code >= 500
        raise TokenExchangeFailed(error, detail, retryable=retryable)
    token, expires_in = body.get("access_token"), body.get("expires_in")
    if not isinstance(token, str) or not token or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise TokenExchangeFailed(
            "TokenEndpointError", "no access_token/expires_in in the answer", retryable=True
        )
    return token, float(expires_in)
