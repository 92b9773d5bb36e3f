"""Provider secrets sealed with AES-256-GCM."""

from __future__ import annotations

import pytest

from pushwise.store.sealing import Sealer, SealError

SECRET = b"-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEG...\n-----END PRIVATE KEY-----"


def test_a_sealed_secret_opens_with_the_same_key_and_context() -> None:
    sealer = Sealer(b"server secret key")
    blob = sealer.seal(SECRET, b"app_1:apns")
    assert SECRET not in blob
    assert blob[0] == 1
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
        sealer.open(b"\x02" + bytes(40), b"c")
    with pytest.raises(SealError, match="format"):
        sealer.open(b"\x01", b"c")
