"""Seal secrets at rest: AES-256-GCM under keys derived from the secret key, ready for rotation.

A sealed blob names the keys that can open it, so a key can be replaced without a moment where
some process cannot read some secret (`pushwise secrets rotate`, see `pushwise.secret_rotation`):

- version 2: `0x02 | n | n x (key id (8) | nonce (12) | length (4, big-endian) | ciphertext+tag)`,
  one entry per key it is sealed for: one in normal operation, two (new and old) while a rotation
  re-seals everything;
- version 1 (written before rotation existed): `0x01 | nonce | ciphertext+tag`, for one key that
  the blob does not name; it opens with whichever known key fits.

The key id is an HMAC of the secret key (it reveals nothing about it) and the AES key is derived
with HKDF exactly as in version 1. The caller's `context` (e.g. app id and channel) is bound as
associated data, so a blob copied into another app's row does not open. Nonces come from the OS's
CSPRNG, never from the injected seedable random source: a repeated GCM nonce leaks the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_V1, _V2 = 1, 2
_NONCE_BYTES = 12
_ID_BYTES = 8
_HKDF_INFO = b"pushwise/provider-secrets/v1"
_ENTRY_HEAD = struct.Struct(f">{_ID_BYTES}s{_NONCE_BYTES}sI")


class SealError(ValueError):
    """The blob cannot be opened: wrong secret key, wrong context, or corrupted."""


def key_id(secret_key: bytes) -> bytes:
    """A short public name for a secret key, stored beside what it sealed."""
    return hmac.new(secret_key, b"pushwise/sealing-key-id/v1", hashlib.sha256).digest()[:_ID_BYTES]


@dataclass(frozen=True)
class _Key:
    id: bytes
    aead: AESGCM

    @classmethod
    def of(cls, secret_key: bytes) -> _Key:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key)
        return cls(key_id(secret_key), AESGCM(derived))


class Sealer:
    """Seals under `secret_key` (and under `others` too when `dual`); opens with any of them."""

    def __init__(self, secret_key: bytes, *, others: Sequence[bytes] = (), dual: bool = False) -> None:
        keys = {key.id: key for key in map(_Key.of, (secret_key, *others))}  # the same key twice is once
        self._keys = list(keys.values())
        self._sealing = self._keys if dual else self._keys[:1]

    @property
    def sealing_ids(self) -> frozenset[bytes]:
        """The key ids a blob this sealer writes is sealed for."""
        return frozenset(key.id for key in self._sealing)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        parts = [bytes([_V2, len(self._sealing)])]
        for key in self._sealing:
            nonce = os.urandom(_NONCE_BYTES)
            ciphertext = key.aead.encrypt(nonce, plaintext, context)
            parts += [_ENTRY_HEAD.pack(key.id, nonce, len(ciphertext)), ciphertext]
        return b"".join(parts)

    def open(self, blob: bytes, context: bytes) -> bytes:
        for key, nonce, ciphertext in self._candidates(blob):
            try:
                return key.aead.decrypt(nonce, ciphertext, context)
            except InvalidTag:
                continue
        raise SealError("sealed secret does not open: was PUSHWISE_SECRET_KEY changed?")

    def _candidates(self, blob: bytes) -> Iterator[tuple[_Key, bytes, bytes]]:
        if blob[:1] == bytes([_V1]) and len(blob) > 1 + _NONCE_BYTES:
            nonce, ciphertext = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
            for key in self._keys:
                yield key, nonce, ciphertext
            return
        known = {key.id: key for key in self._keys}
        for entry_id, nonce, ciphertext in _entries(blob):
            if entry_id in known:
                yield known[entry_id], nonce, ciphertext


def sealed_for(blob: bytes) -> frozenset[bytes]:
    """The key ids a blob names (none for a version 1 blob, which names no key)."""
    return (
        frozenset(entry_id for entry_id, _, _ in _entries(blob)) if blob[:1] == bytes([_V2]) else frozenset()
    )


def _entries(blob: bytes) -> Iterator[tuple[bytes, bytes, bytes]]:
    if len(blob) < 2 or blob[0] != _V2:
        raise SealError("unknown sealed-secret format")
    offset = 2
    for _ in range(blob[1]):
        if offset + _ENTRY_HEAD.size > len(blob):
            raise SealError("truncated sealed secret")
        entry_id, nonce, length = _ENTRY_HEAD.unpack_from(blob, offset)
        offset += _ENTRY_HEAD.size
        if offset + length > len(blob):
            raise SealError("truncated sealed secret")
        yield entry_id, nonce, blob[offset : offset + length]
        offset += length
