"""Bearer-key authentication and the three scopes: admin, server, client.

Every request is authenticated, so the lookup must be cheap: keys are hashed with
SHA-256 (see `pushwise.store.keys` for why that is enough) and resolved principals
are cached in memory for a few seconds. A key revoked through this process is
evicted at once; one revoked elsewhere (another process, the CLI) stops working
within `cache_seconds`. The same holds for `key_active`, which dashboard sessions
use to re-check the key they were made from. Unknown keys are cached too, so a client hammering with a
bad key costs no database reads; the cache is bounded and simply cleared when full.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pushwise.api.errors import ApiError
from pushwise.api.rate_limits import RateLimits
from pushwise.domain.clock import Clock
from pushwise.store.keys import ApiKeyRecord, KeyKind, KeyRepository, hash_key

CACHE_SECONDS = 5.0
CACHE_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    kind: KeyKind
    app_id: str | None
    key_id: str | None  # None for the admin key from settings

    @property
    def app_id_required(self) -> str:
        if self.app_id is None:
            raise ApiError(403, "forbidden_scope", "this key belongs to no app: use the app's server key")
        return self.app_id


_SETTINGS_ADMIN = Principal("admin", None, None)


class KeyAuthenticator:
    def __init__(
        self,
        keys: KeyRepository,
        clock: Clock,
        admin_key: str | None,
        *,
        cache_seconds: float = CACHE_SECONDS,
        max_entries: int = CACHE_MAX_ENTRIES,
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._admin_digest = hash_key(admin_key).encode() if admin_key else None
        self._cache_seconds = cache_seconds
        self._max_entries = max_entries
        self._cache: dict[str, tuple[Principal | None, float]] = {}
        self._active: dict[str, tuple[ApiKeyRecord | None, float]] = {}

    async def authenticate(self, secret: str) -> Principal | None:
        digest = hash_key(secret)
        # Compare digests in constant time; the cache below is keyed by digests,
        # which reveal nothing usable about the keys they come from.
        if self._admin_digest is not None and hmac.compare_digest(digest.encode(), self._admin_digest):
            return _SETTINGS_ADMIN
        now = self._clock.now()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        record = await self._keys.find_active(digest)
        principal = Principal(record.kind, record.app_id, record.id) if record is not None else None
        if len(self._cache) >= self._max_entries:
            self._cache.clear()
        self._cache[digest] = (principal, now + self._cache_seconds)
        return principal

    async def key_active(self, key_id: str) -> ApiKeyRecord | None:
        """The stored key `key_id` if it is still valid (not revoked), read at most every `cache_seconds`."""
        now = self._clock.now()
        cached = self._active.get(key_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        record = await self._keys.find_active_by_id(key_id)
        if len(self._active) >= self._max_entries:
            self._active.clear()
        self._active[key_id] = (record, now + self._cache_seconds)
        return record

    def forget(self, key_hash: str, key_id: str | None = None) -> None:
        self._cache.pop(key_hash, None)
        if key_id is not None:
            self._active.pop(key_id, None)


def authenticator_of(request: Request) -> KeyAuthenticator:
    return cast(KeyAuthenticator, request.app.state.authenticator)


def rate_limits_of(request: Request) -> RateLimits:
    return cast(RateLimits, request.app.state.rate_limits)


_bearer = HTTPBearer(
    auto_error=False, description="An admin, server or client key: `Authorization: Bearer <key>`"
)
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise ApiError(
            401, "unauthorized", "send an API key: Authorization: Bearer <key>", headers=BEARER_CHALLENGE
        )
    principal = await authenticator_of(request).authenticate(credentials.credentials)
    if principal is None:
        raise ApiError(401, "unauthorized", "this API key is not valid", headers=BEARER_CHALLENGE)
    rate_limits_of(request).check_key(principal.key_id)
    return principal


def _scope_error(needed: str) -> ApiError:
    return ApiError(403, "forbidden_scope", f"this endpoint needs {needed}")


async def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.kind != "admin":
        raise _scope_error("an admin key")
    return principal


async def require_server(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.kind != "server":
        raise _scope_error("the app's server key")
    return principal


async def require_client_or_server(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.kind not in ("server", "client"):
        raise _scope_error("the app's client or server key")
    return principal


async def require_admin_or_server(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.kind not in ("admin", "server"):
        raise _scope_error("an admin key or an app's server key")
    return principal


async def require_app_manager(
    app_id: str, principal: Annotated[Principal, Depends(current_principal)]
) -> Principal:
    """Admin, or the server key of the app in the path; another app's key sees 404, as if it did not exist."""
    if principal.kind == "admin":
        return principal
    if principal.kind != "server":
        raise _scope_error("an admin key or the app's server key")
    if principal.app_id != app_id:
        raise ApiError(404, "not_found", "no such app")
    return principal


Admin = Annotated[Principal, Depends(require_admin)]
Server = Annotated[Principal, Depends(require_server)]
ClientOrServer = Annotated[Principal, Depends(require_client_or_server)]
AppManager = Annotated[Principal, Depends(require_app_manager)]
AdminOrServer = Annotated[Principal, Depends(require_admin_or_server)]
