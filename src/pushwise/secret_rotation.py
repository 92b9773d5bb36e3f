"""`pushwise secrets rotate`: every stored secret re-sealed under a new key, crash-safe, no questions.

The steps, each safe to repeat, so a rotation killed anywhere completes when run again:

1. Settle the new key. With `--new-key-file PATH` it is the key in PATH; otherwise, when the
   current key comes from the key file, a new random one. For a key-file install it is first
   written, durably, beside the key file (`<key file>.next`): a rerun after a crash finds it there
   and carries on with the same key instead of inventing another.
2. Re-seal every secret for both keys, the new and the old (`Sealer(..., dual=True)`): until the
   end, servers still running with the old key open every secret.
3. Re-seal every secret for the new key alone, again until a pass finds nothing left to do (a
   secret written meanwhile by a server with the old key is caught by the next pass).
4. Key file: replace it with the new key in one atomic rename of `<key file>.next`. When the key
   came from `PUSHWISE_SECRET_KEY`, the operator sets that variable to the new key instead.

Restart running servers afterwards: they still hold the old key, which opens nothing any more.
A secret that neither key opens stops the rotation before the key file changes, naming it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pushwise.store.db import open_database
from pushwise.store.resealing import Resealed, reseal
from pushwise.store.sealing import Sealer

MAX_FINAL_PASSES = 5


class RotationRefused(Exception):
    """The rotation cannot go on; nothing was lost (the old key still opens what it opened)."""


@dataclass(frozen=True)
class RotationDone:
    resealed: int
    unchanged: int
    key_file: str | None  # the key file now holding the new key; None when the key came from the environment


def rotate_secrets(
    database_url: str, *, env_key: str | None, key_file: str, new_key_file: str | None
) -> RotationDone:
    """Rotate from the key in `env_key` (PUSHWISE_SECRET_KEY) or, when unset, in `key_file`."""
    if env_key:
        if new_key_file is None:
            raise RotationRefused(
                "the current key comes from PUSHWISE_SECRET_KEY: give the new key with --new-key-file PATH, "
                "then set PUSHWISE_SECRET_KEY to it"
            )
        old, new, pending = env_key.encode(), read_key(Path(new_key_file)), None
    else:
        current = Path(key_file)
        if not current.exists():
            raise RotationRefused(f"no key file at {current} (and PUSHWISE_SECRET_KEY is unset)")
        old = read_key(current)
        pending = current.with_name(current.name + ".next")
        new = _settle_new_key(pending, Path(new_key_file) if new_key_file else None)
    resealed, unchanged = asyncio.run(_reseal_everything(database_url, old, new))
    if pending is not None:
        os.replace(pending, key_file)
        _sync_directory(Path(key_file).parent)
    return RotationDone(resealed, unchanged, key_file if pending is not None else None)


async def _reseal_everything(database_url: str, old: bytes, new: bytes) -> tuple[int, int]:
    db = open_database(database_url, pool_size=1)
    try:
        both = await reseal(db, Sealer(new, others=[old], dual=True))
        _refuse_unreadable(both)
        final = Resealed()
        for _ in range(MAX_FINAL_PASSES):
            final = await reseal(db, Sealer(new, others=[old]))
            _refuse_unreadable(final)
            if final.resealed == 0:
                break
    finally:
        await db.dispose()
    return both.resealed, final.unchanged


def read_key(path: Path) -> bytes:
    try:
        key = path.read_text().strip()
    except OSError as error:
        raise RotationRefused(f"cannot read the key in {path}: {error.strerror}") from error
    if len(key) < 16:
        raise RotationRefused(f"the key in {path} is too short: use at least 16 random characters")
    return key.encode()


def _settle_new_key(pending: Path, given: Path | None) -> bytes:
    """The new key, written to `pending` before anything is sealed with it."""
    if given is not None:
        new = read_key(given)
        if not pending.exists() or read_key(pending) != new:
            write_key_file(pending, new)
        return new
    if pending.exists():
        return read_key(pending)  # a rotation that was interrupted: finish it with its own key
    new = secrets.token_urlsafe(48).encode()
    write_key_file(pending, new)
    return new


def write_key_file(path: Path, key: bytes) -> None:
    """Owner-only, durable, atomic: the file holds the whole key or is not there."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _refuse_unreadable(tally: Resealed) -> None:
    if tally.unreadable:
        raise RotationRefused(
            f"{len(tally.unreadable)} stored secrets open with neither the old nor the new key "
            f"({', '.join(tally.unreadable[:10])}); store them again (e.g. PUT the provider settings) "
            "and rerun: the key file was not changed"
        )
