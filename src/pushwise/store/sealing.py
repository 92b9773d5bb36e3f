"""Seal provider secrets at rest: AES-256-GCM under a key derived from the secret key.

Blob layout: version byte (1) | 96-bit random nonce | ciphertext and tag. The
version byte lets a later key or algorithm change open old blobs. The caller's
`context` (e.g. app id and channel) is bound as associated data, so a blob copied
into another app's row does not open. Nonces come from the OS's CSPRNG, never
from the injected seedable random source: a repeated GCM nonce leaks the key.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = 1
_NONCE_BYTES = 12
_HKDF_INFO = b"pushwise/provider-secrets/v1"


class SealError(ValueError):
    """The blob cannot be opened: wrong secret key, wrong context, or corrupted."""


class Sealer:
    def __init__(self, secret_key: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key)
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return bytes([_VERSION]) + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, blob: bytes, context: bytes) -> bytes:
        if len(blob) < 1 + _NONCE_BYTES or blob[0] != _VERSION:
            raise SealError("unknown sealed-secret format")
        nonce, ciphertext = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, context)
        except InvalidTag as error:
            raise SealError("sealed secret does not open: was PUSHWISE_SECRET_KEY changed?") from error
