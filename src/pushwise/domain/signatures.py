"""Signed outbound requests: `Pushwise-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

Webhook deliveries and delivery receipts are signed the same way, so receivers
write one verifier. The signed string is `"<t>.<raw body>"`: binding the time
into the MAC makes a captured request useless once the receiver's tolerance has
passed (replay protection), and signing the raw bytes avoids any JSON
canonicalisation question. Receivers verify like this:

    1. split the header on "," into `t=...` and one or more `v1=...` parts;
    2. reject when |now - t| > tolerance (we use 300 s);
    3. compute hex(HMAC-SHA256(secret, f"{t}." + raw_body)) and compare it in
       constant time with each `v1` value; accept if one matches.

Several `v1` values may appear while a secret is being rotated.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Pushwise-Signature"
DEFAULT_TOLERANCE_SECONDS = 300.0


class SignatureInvalid(ValueError):
    """The header is missing, malformed, too old, or matches no secret."""


def signature(secret: str | bytes, body: bytes, t: int) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, str(t).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, t: int) -> str:
    """The header value for `body` sent at Unix time `t`."""
    return f"t={t},v1={signature(secret, body, t)}"


def verify(
    secret: str | bytes,
    body: bytes,
    header: str | None,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check a received header; returns its timestamp or raises `SignatureInvalid`."""
    if not header:
        raise SignatureInvalid("no signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureInvalid("malformed signature header")
    if abs(now - timestamp) > tolerance:
        raise SignatureInvalid("signature timestamp outside the tolerance (replay?)")
    expected = signature(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureInvalid("signature does not match")
    return timestamp
