"""Secrets sealed with AES-256-GCM, under one key or (while a rotation runs) two."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pushwise.store.sealing import Sealer, SealError, key_id, sealed_for

SECRET = b"-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEG...\n-----END PRIVATE KEY-----"


def test_a_sealed_secret_opens_with_the_same_key_and_context() -> None:
    sealer = Sealer(b"server secret key")
    blob = sealer.seal(SECRET, b"app_1:apns")
    assert SECRET not in blob
    assert blob[0] == 2
    assert sealed_for(blob) == {key_id(b"server secret key")}
    assert Sealer(b"server secret key").open(blob, b"app_1:apns") == SECRET


def test_every_seal_uses_a_fresh_nonce() -> None:
    sealer = Sealer(b"k")
    assert sealer.seal(SECRET, b"c") != sealer.seal(SECRET, b"c")


@pytest.mark.parametrize(
    ("key", "context"),
    [(b"another key", b"app_1:apns"), (b"server secret key", b"app_2:apns")],
)
def test_a_blob_does_not_open_under_another_key_or_for_another_app(key: bytes, context: bytes) -> None:
    blob = Sealer(b"server secret key").seal(SECRET, b"app_1:apns")
    with pytest.raises(SealError):
        Sealer(key).open(blob, context)


def test_tampered_or_unknown_blobs_are_refused() -> None:
    sealer = Sealer(b"k")
    blob = bytearray(sealer.seal(SECRET, b"c"))
    blob[-1] ^= 1
    with pytest.raises(SealError):
        sealer.open(bytes(blob), b"c")
    with pytest.raises(SealError, match="format"):
        sealer.open(b"\x03" + bytes(40), b"c")
    with pytest.raises(SealError, match="format"):
        sealer.open(b"\x01", b"c")


def version_1_blob(secret_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """A blob as pushwise wrote them before keys could be rotated (no key id)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pushwise/provider-secrets/v1")
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(derived.derive(secret_key)).encrypt(nonce, plaintext, context)


def test_blobs_written_before_rotation_existed_still_open_with_whichever_key_fits() -> None:
    blob = version_1_blob(b"old", SECRET, b"c")
    assert Sealer(b"old").open(blob, b"c") == SECRET
    assert Sealer(b"new", others=[b"old"]).open(blob, b"c") == SECRET
    assert sealed_for(blob) == frozenset()
    with pytest.raises(SealError):
        Sealer(b"new").open(blob, b"c")


def test_a_dual_seal_opens_with_either_key_alone() -> None:
    rotating = Sealer(b"new", others=[b"old"], dual=True)
    blob = rotating.seal(SECRET, b"c")
    assert sealed_for(blob) == rotating.sealing_ids == {key_id(b"new"), key_id(b"old")}
    assert Sealer(b"old").open(blob, b"c") == SECRET
    assert Sealer(b"new").open(blob, b"c") == SECRET
    with pytest.raises(SealError):
        Sealer(b"other").open(blob, b"c")


def test_a_truncated_blob_is_refused() -> None:
    blob = Sealer(b"k").seal(SECRET, b"c")
    with pytest.raises(SealError, match="truncated"):
        Sealer(b"k").open(blob[:30], b"c")
