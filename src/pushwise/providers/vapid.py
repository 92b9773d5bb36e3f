"""VAPID (RFC 8292): how an application server proves to a push service who it is.

Each request carries `Authorization: vapid t=<JWT>, k=<public key>`: an ES256 JWT
with `aud` = the push endpoint's origin, `exp` at most 24 hours ahead and `sub` a
`mailto:` or `https:` contact, and `k` the base64url uncompressed P-256 public key
that signs it (the `applicationServerKey` the browser subscribed with).

Signing costs an ECDSA operation, so the header is minted once per push-service
origin and reused until shortly before it expires, on the injected clock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushwise.domain.clock import Clock
from pushwise.providers.webpush_crypto import (
    PUBLIC_KEY_BYTES,
    WebPushCryptoError,
    b64url_decode,
    b64url_encode,
    load_public_key,
    public_key_bytes,
)

MAX_LIFETIME_S = 24 * 3600
TOKEN_LIFETIME_S = 12 * 3600
# Mint a new header this long before the cached one expires, so none is sent about to lapse.
REFRESH_MARGIN_S = 3600
_ORIGIN_CACHE_LIMIT = 1024
_CURVE = ec.SECP256R1()


class VapidKeyError(ValueError):
    """The configured VAPID private key cannot be read as a P-256 key."""


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (private scalar, public point), both unpadded base64url.

    The public half is what a web app passes as `applicationServerKey` to `pushManager.subscribe`.
    """
    key = ec.generate_private_key(_CURVE)
    return private_key_text(key), b64url_encode(public_key_bytes(key))


def private_key_text(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))


def load_vapid_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """Read a VAPID private key as web-push libraries store it.

    Accepted: PEM (PKCS#8 or SEC1 `EC PRIVATE KEY`), the raw 32-byte scalar in base64url
    (web-push, pywebpush `--gen`), or DER in base64url (py-vapid's `private_key` form).
    """
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode(text)
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), _CURVE)
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, WebPushCryptoError) as error:
        raise VapidKeyError(f"not a readable P-256 private key: {error}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise VapidKeyError("VAPID keys are P-256 (prime256v1) keys")
    return key


def validate_subject(subject: str) -> str:
    """RFC 8292 section 2.1: a `mailto:` address or an `https:` URL the push service can reach us at."""
    if subject.startswith("mailto:") and "@" in subject:
        return subject
    if subject.startswith("https://") and len(subject) > len("https://"):
        return subject
    raise ValueError("the VAPID subject must be a mailto: address or an https: URL")


class VapidSigner:
    """Mints and caches the `Authorization` header per push-service origin."""

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        subject: str,
        clock: Clock,
        *,
        lifetime_s: int = TOKEN_LIFETIME_S,
        refresh_margin_s: int = REFRESH_MARGIN_S,
    ) -> None:
        if not 0 < refresh_margin_s < lifetime_s <= MAX_LIFETIME_S:
            raise ValueError("need 0 < refresh margin < lifetime <= 24 h")
        self._key = private_key
        self._subject = validate_subject(subject)
        self._clock = clock
        self._lifetime_s = lifetime_s
        self._refresh_margin_s = refresh_margin_s
        self.public_key = b64url_encode(public_key_bytes(private_key))
        self._headers: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def authorization(self, origin: str) -> str:
        """`vapid t=..., k=...` for requests to `origin` (`https://host[:port]`, no path)."""
        now = self._clock.now()
        cached = self._headers.get(origin)
        if cached is not None and now < cached[1] - self._refresh_margin_s:
            self._headers.move_to_end(origin)
            return cached[0]
        expires = int(now) + self._lifetime_s
        claims = {"aud": origin, "exp": expires, "sub": self._subject}
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "JWT"})
        header = f"vapid t={token}, k={self.public_key}"
        self._headers[origin] = (header, float(expires))
        self._headers.move_to_end(origin)
        if len(self._headers) > _ORIGIN_CACHE_LIMIT:
            self._headers.popitem(last=False)
        return header


@dataclass(frozen=True, slots=True)
class VapidClaims:
    audience: str
    expires: float
    subject: str
    public_key: str  # `k`, base64url as sent


class VapidRejected(ValueError):
    """Why a push service refuses the header; `status` is 401 (unauthenticated) or 403 (wrong key)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def verify_authorization(header: str | None) -> VapidClaims:
    """Check the header's form and signature (the push service's side); time and audience are the caller's.

    Time-dependent checks are separate (`check_claims`) so a push service can cache this
    expensive part per distinct header.
    """
    if not header:
        raise VapidRejected(401, "missing Authorization")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise VapidRejected(401, "Authorization scheme must be vapid")
    params = dict(_param(part) for part in rest.split(","))
    token, key_text = params.get("t"), params.get("k")
    if not token or not key_text:
        raise VapidRejected(401, "vapid needs t= and k=")
    try:
        raw_key = b64url_decode(key_text)
        if len(raw_key) != PUBLIC_KEY_BYTES:
            raise WebPushCryptoError("k must be a 65-byte uncompressed point")
        public_key = load_public_key(raw_key)
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["ES256"],
            options={"require": ["aud", "exp"], "verify_exp": False, "verify_aud": False},
        )
    except (WebPushCryptoError, jwt.PyJWTError) as error:
        raise VapidRejected(401, f"invalid VAPID token: {error}") from error
    audience, expires, subject = claims.get("aud"), claims.get("exp"), claims.get("sub", "")
    if not isinstance(audience, str) or not isinstance(expires, int | float) or not isinstance(subject, str):
        raise VapidRejected(401, "aud must be a string and exp a number")
    return VapidClaims(audience, float(expires), subject, key_text.rstrip("="))


def check_claims(claims: VapidClaims, *, origin: str, now: float) -> None:
    """RFC 8292 section 2: `aud` is this push service's origin, `exp` in the future and within 24 h."""
    if claims.expires <= now:
        raise VapidRejected(401, "the VAPID token has expired")
    if claims.expires > now + MAX_LIFETIME_S:
        raise VapidRejected(401, "exp is more than 24 hours ahead")
    if claims.audience != origin:
        raise VapidRejected(403, f"aud {claims.audience!r} is not this push service ({origin})")


def _param(part: str) -> tuple[str, str]:
    name, _, value = part.strip().partition("=")
    return name.strip().lower(), value.strip()
