"""APNs credentials: ES256 provider tokens (JWT) and TLS client certificates.

Apple's rules for provider tokens ("Establishing a token-based connection to APNs"):
a token older than one hour is rejected with `ExpiredProviderToken`, and minting a
new one more often than every 20 minutes earns `TooManyProviderTokenUpdates`. So one
token is shared by every request and replaced after ~50 minutes; the only early
replacement is after APNs itself called the token expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushwise.domain.clock import Clock

TOKEN_REFRESH_AFTER_SECONDS = 50 * 60.0
TOKEN_MIN_LIFETIME_SECONDS = 20 * 60.0


class CredentialsError(ValueError):
    """Key or certificate material that cannot be used: retrying cannot help."""


class ProviderTokens:
    """The current `authorization` header value for token-based auth, minted lazily."""

    def __init__(
        self,
        *,
        team_id: str,
        key_id: str,
        private_key_pem: str,
        clock: Clock,
        refresh_after: float = TOKEN_REFRESH_AFTER_SECONDS,
    ) -> None:
        if refresh_after < TOKEN_MIN_LIFETIME_SECONDS:
            raise ValueError("APNs rejects token updates more often than every 20 minutes")
        self._team_id = team_id
        self._headers = {"alg": "ES256", "kid": key_id}
        self._key = _load_es256_key(private_key_pem)
        self._clock = clock
        self._refresh_after = refresh_after
        self._bearer = ""
        self._minted_at = 0.0
        self.minted = 0

    def bearer(self) -> str:
        """`bearer <jwt>`, reused until it is `refresh_after` seconds old."""
        if not self._bearer or self._clock.now() - self._minted_at >= self._refresh_after:
            self._mint()
        return self._bearer

    def refresh_rejected(self, rejected: str) -> str:
        """A new bearer after APNs answered `ExpiredProviderToken` for `rejected`.

        Many requests in flight share a token and may all be rejected together; only
        the first replaces it, the others get the replacement, so one rejection costs
        one mint however many streams saw it.
        """
        if rejected == self._bearer:
            self._mint()
        return self._bearer

    def _mint(self) -> None:
        now = self._clock.now()
        token = jwt.encode(
            {"iss": self._team_id, "iat": int(now)}, self._key, algorithm="ES256", headers=self._headers
        )
        self._bearer = "bearer " + token
        self._minted_at = now
        self.minted += 1


def _load_es256_key(private_key_pem: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise CredentialsError(f"the APNs signing key is not a readable PEM (.p8) key: {error}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CredentialsError("the APNs signing key must be a P-256 (ES256) key")
    return key


@dataclass(frozen=True, slots=True)
class CertificateIdentity:
    """A TLS client identity for certificate-based auth, with what health checks need."""

    identity_pem: bytes
    subject: str
    expires_at: datetime


def load_certificate_identity(certificate_pem: str, key_pem: str) -> CertificateIdentity:
    """Check that the key belongs to the certificate, so a mismatch fails at start-up, not per send."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise CredentialsError(f"the APNs certificate or its key is not readable PEM: {error}") from error
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if certificate.public_key().public_bytes(encoding, public) != key.public_key().public_bytes(
        encoding, public
    ):
        raise CredentialsError("the APNs certificate key does not match the certificate")
    pem = certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return CertificateIdentity(pem, certificate.subject.rfc4514_string(), certificate.not_valid_after_utc)
