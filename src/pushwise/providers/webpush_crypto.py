"""Web Push message encryption: RFC 8291 key derivation over RFC 8188 `aes128gcm` framing.

The sender makes a fresh P-256 key pair and a random 16-byte salt per message,
agrees a secret with the subscription's `p256dh` key (ECDH), mixes in the
subscription's 16-byte `auth` secret, and encrypts the plaintext as ONE record
(RFC 8291 section 4 requires a single record) of at most 4096 bytes with
AES-128-GCM. The body is `salt | rs | idlen | keyid | ciphertext`, keyid being the
sender's public key, so the user agent can derive the same key.

HKDF here always wants one 32-byte block or less, so each HKDF step is written as
its two HMAC-SHA-256 calls (RFC 5869): extract = HMAC(salt, ikm), expand to at
most 32 bytes = HMAC(prk, info | 0x01). That is the whole cost besides ECDH and GCM.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

RECORD_SIZE = 4096
SALT_BYTES = 16
AUTH_SECRET_BYTES = 16
PUBLIC_KEY_BYTES = 65  # uncompressed P-256 point: 0x04 | x | y
TAG_BYTES = 16
HEADER_BYTES = SALT_BYTES + 4 + 1 + PUBLIC_KEY_BYTES  # 86
# Push services accept bodies of at most 4096 bytes: header, one delimiter byte and the tag leave 3993.
MAX_PLAINTEXT_BYTES = RECORD_SIZE - HEADER_BYTES - 1 - TAG_BYTES

_KEY_INFO_PREFIX = b"WebPush: info\x00"
_CEK_INFO = b"Content-Encoding: aes128gcm\x00\x01"
_NONCE_INFO = b"Content-Encoding: nonce\x00\x01"
_LAST_RECORD = b"\x02"
_CURVE = ec.SECP256R1()


class WebPushCryptoError(ValueError):
    """Keys or a message that cannot be used: wrong sizes, not a P-256 point, failed authentication."""


def b64url_encode(raw: bytes) -> str:
    """Unpadded base64url, the form browsers use for subscription keys and VAPID."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Accepts padded or unpadded base64url."""
    stripped = text.strip().rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as error:
        raise WebPushCryptoError("not base64url") from error


def public_key_bytes(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_public_key(point: bytes) -> ec.EllipticCurvePublicKey:
    if len(point) != PUBLIC_KEY_BYTES or point[0] != 4:
        raise WebPushCryptoError("a P-256 public key is a 65-byte uncompressed point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, point)
    except ValueError as error:
        raise WebPushCryptoError("not a point on P-256") from error


def encrypt(
    plaintext: bytes,
    ua_public: bytes,
    auth_secret: bytes,
    *,
    sender_key: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt one push message for a subscription (`p256dh` point and `auth` secret, raw bytes).

    `sender_key` and `salt` exist for the RFC's test vector; in production both must be
    fresh per message, which is what leaving them out gives.
    """
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise WebPushCryptoError(f"plaintext is {len(plaintext)} bytes; at most {MAX_PLAINTEXT_BYTES} fit")
    if len(auth_secret) != AUTH_SECRET_BYTES:
        raise WebPushCryptoError("the auth secret is 16 bytes")
    receiver = load_public_key(ua_public)
    sender = sender_key or ec.generate_private_key(_CURVE)
    as_public = public_key_bytes(sender)
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    if len(salt) != SALT_BYTES:
        raise WebPushCryptoError("the salt is 16 bytes")
    shared = sender.exchange(ec.ECDH(), receiver)
    cek, nonce = _content_keys(shared, auth_secret, ua_public, as_public, salt)
    ciphertext = AESGCM(cek).encrypt(nonce, plaintext + _LAST_RECORD, None)
    return salt + struct.pack(">IB", RECORD_SIZE, PUBLIC_KEY_BYTES) + as_public + ciphertext


def decrypt(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """The user agent's half: recover the plaintext of a single-record `aes128gcm` message."""
    if len(body) < SALT_BYTES + 5:
        raise WebPushCryptoError("shorter than an aes128gcm header")
    salt = body[:SALT_BYTES]
    record_size, id_length = struct.unpack_from(">IB", body, SALT_BYTES)
    key_end = SALT_BYTES + 5 + id_length
    if id_length != PUBLIC_KEY_BYTES or len(body) < key_end + TAG_BYTES + 1:
        raise WebPushCryptoError("the key id must be the sender's 65-byte public key")
    if len(body) - key_end > record_size:
        raise WebPushCryptoError("Web Push messages are a single record")
    as_public = body[SALT_BYTES + 5 : key_end]
    shared = ua_private.exchange(ec.ECDH(), load_public_key(as_public))
    cek, nonce = _content_keys(shared, auth_secret, public_key_bytes(ua_private), as_public, salt)
    try:
        padded = AESGCM(cek).decrypt(nonce, body[key_end:], None)
    except InvalidTag as error:
        raise WebPushCryptoError("authentication failed: wrong keys or a tampered message") from error
    unpadded = padded.rstrip(b"\x00")
    if not unpadded.endswith(_LAST_RECORD):
        raise WebPushCryptoError("the last record must end with delimiter 0x02")
    return unpadded[:-1]


def _content_keys(
    shared: bytes, auth_secret: bytes, ua_public: bytes, as_public: bytes, salt: bytes
) -> tuple[bytes, bytes]:
    """RFC 8291 section 3.4 then RFC 8188 section 2.2: the content key and the nonce."""
    prk_key = hmac.digest(auth_secret, shared, "sha256")
    ikm = hmac.digest(prk_key, _KEY_INFO_PREFIX + ua_public + as_public + b"\x01", "sha256")
    prk = hmac.digest(salt, ikm, "sha256")
    cek = hmac.digest(prk, _CEK_INFO, "sha256")[:16]
    nonce = hmac.digest(prk, _NONCE_INFO, "sha256")[:12]
    return cek, nonce
