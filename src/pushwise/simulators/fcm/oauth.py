"""Google's OAuth2 token endpoint and access-token checks, as the FCM simulator plays them.

The caller's service account is issued here (an RSA key in Google's key-file JSON
shape). The server only gets the public key: it verifies the RS256 assertion of a
JWT bearer grant, answers with an opaque access token and `expires_in`, and later
tells a send whether its `authorization: Bearer` token is known and unexpired.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pushwise.providers.google_oauth import ASSERTION_LIFETIME_SECONDS, FCM_SCOPE, JWT_BEARER_GRANT

_CLOCK_SKEW_S = 60.0
_TOKEN_LIMIT = 100_000  # issued tokens remembered; older ones are forgotten (and so refused)


@dataclass(frozen=True, slots=True)
class IssuedAccount:
    """A service account key file for the caller, and the public key the server checks it with."""

    key_file: dict[str, Any]
    public_key_pem: str


def new_service_account(project_id: str, token_uri: str) -> IssuedAccount:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    email = f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com"
    key_file = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": private_pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**21)),
        "token_uri": token_uri,
    }
    return IssuedAccount(key_file, public_pem)


@dataclass(frozen=True, slots=True)
class Grant:
    """The token endpoint's answer: status and JSON body."""

    status: int
    body: bytes


class TokenIssuer:
    """Verifies JWT bearer grants and remembers the access tokens it handed out."""

    def __init__(self, *, client_email: str, public_keys: dict[str, str], audience: str) -> None:
        self._email = client_email
        self._keys = {kid: _rsa_public_key(pem) for kid, pem in public_keys.items()}
        self._audience = audience
        self._expiry: dict[str, float] = {}  # "Bearer <token>" -> expiry epoch
        self.issued = 0
        self.refused_grants = 0

    def grant(self, form: bytes, now: float, *, lifetime_s: int, check_time: bool) -> Grant:
        fields = parse_qs(form.decode(errors="replace"))
        if fields.get("grant_type") != [JWT_BEARER_GRANT]:
            return self._refuse("unsupported_grant_type", "Invalid grant_type.")
        problem = self._assertion_problem((fields.get("assertion") or [""])[0], now, check_time)
        if problem:
            return self._refuse("invalid_grant", problem)
        if len(self._expiry) >= _TOKEN_LIMIT:
            self._expiry.clear()
        token = "ya29.sim-" + secrets.token_urlsafe(32)
        self._expiry["Bearer " + token] = now + lifetime_s
        self.issued += 1
        body = {"access_token": token, "expires_in": lifetime_s, "token_type": "Bearer"}
        return Grant(200, orjson.dumps(body))

    def is_valid(self, authorization: str | None, now: float) -> bool:
        expiry = self._expiry.get(authorization or "")
        return expiry is not None and now < expiry

    def expire_all(self) -> None:
        """Make every issued token expired, as if an hour had passed (the refresh-on-401 path)."""
        self._expiry = dict.fromkeys(self._expiry, 0.0)

    def reset_counts(self) -> None:
        """Restart the counters; tokens already handed out stay valid, as a client expects."""
        self.issued = 0
        self.refused_grants = 0

    def _assertion_problem(self, assertion: str, now: float, check_time: bool) -> str | None:
        try:
            key = self._keys.get(jwt.get_unverified_header(assertion).get("kid", ""))
            if key is None:
                return "Invalid JWT Signature."  # Google's words for an unknown or deleted key
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                audience=self._audience,
                options={
                    "require": ["iss", "aud", "iat", "exp", "scope"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            return f"Invalid JWT: {error}"
        if claims["iss"] != self._email:
            return "Invalid email or User ID"
        if FCM_SCOPE not in str(claims["scope"]).split():
            return "Invalid OAuth scope or ID token audience provided."
        issued, expires = float(claims["iat"]), float(claims["exp"])
        if not 0 < expires - issued <= ASSERTION_LIFETIME_SECONDS:
            return "Invalid JWT: exp must be within an hour of iat."
        if check_time and not issued - _CLOCK_SKEW_S <= now < expires + _CLOCK_SKEW_S:
            return (
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
            )
        return None

    def _refuse(self, error: str, description: str) -> Grant:
        self.refused_grants += 1
        return Grant(400, orjson.dumps({"error": error, "error_description": description}))


def _rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("service-account keys are RSA keys")
    return key
