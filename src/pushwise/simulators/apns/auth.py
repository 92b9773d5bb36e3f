"""Provider authentication tokens (JWT, ES256) as APNs checks them.

APNs wants `authorization: bearer <jwt>` with header `{alg: ES256, kid}` and
claims `{iss: team id, iat}`, signed by the team's .p8 key, and rejects tokens
older than one hour. Verification is cached per distinct token string: a
provider reuses one token for thousands of requests (Apple throttles refreshes
to one per 20 minutes), and the benchmark must not measure ECDSA here.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

TOKEN_MAX_AGE_S = 3600.0
# Tokens minted slightly ahead of our clock are still accepted.
_CLOCK_SKEW_S = 60.0
_CACHE_LIMIT = 4096
_ID_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Apple-style token signing key: team id, key id and the .p8 (PKCS#8 PEM) private key."""

    team_id: str
    key_id: str
    private_key_pem: str

    def public_key_pem(self) -> str:
        key = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        return (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


def new_signing_key() -> SigningKey:
    """Ten-character ids, as Apple issues them."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return SigningKey(_new_id(), _new_id(), pem)


def _new_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def _ec_public_key(pem: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("APNs signing keys are EC P-256 keys")
    return key


@dataclass(frozen=True, slots=True)
class _Verified:
    issued_at: float


class ProviderTokenVerifier:
    """Checks bearer tokens against the public keys of the teams this simulated APNs knows."""

    def __init__(
        self, team_id: str, public_keys: dict[str, str], max_age_s: float | None = TOKEN_MAX_AGE_S
    ) -> None:
        self._team_id = team_id
        self._keys = {kid: _ec_public_key(pem) for kid, pem in public_keys.items()}
        self.max_age_s = max_age_s
        self._cache: dict[str, _Verified | str] = {}

    def problem(self, authorization: str | None, now: float) -> str | None:
        """The 403 reason for this `authorization` header, or None when the token is good at `now`."""
        if not authorization:
            return "MissingProviderToken"
        verdict = self._cache.get(authorization)
        if verdict is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            verdict = self._cache[authorization] = self._verify(authorization)
        if isinstance(verdict, str):
            return verdict
        if self.max_age_s is None:  # tokens minted on a simulated clock: their times mean nothing here
            return None
        if verdict.issued_at > now + _CLOCK_SKEW_S:
            return "InvalidProviderToken"
        if now - verdict.issued_at > self.max_age_s:
            return "ExpiredProviderToken"
        return None

    def _verify(self, authorization: str) -> _Verified | str:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "MissingProviderToken"
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid", ""))
            if key is None or header.get("alg") != "ES256":
                return "InvalidProviderToken"
            claims = jwt.decode(
                token,
                key,
                algorithms=["ES256"],
                options={"require": ["iss", "iat"], "verify_iat": False, "verify_exp": False},
            )
        except jwt.PyJWTError:
            return "InvalidProviderToken"
        issued_at = claims.get("iat")
        if claims.get("iss") != self._team_id or not isinstance(issued_at, int | float):
            return "InvalidProviderToken"
        return _Verified(float(issued_at))
