"""API keys: generation, hashing and lookup.

Keys are 256-bit random strings with a prefix that names their kind, so a leaked
key is recognisable in logs and secret scanners. Only a SHA-256 digest is stored.
A slow password hash (bcrypt, argon2) protects *low-entropy* secrets against
guessing; a 256-bit random key cannot be guessed, so a fast hash is as safe and
keeps authentication cheap on the hot path.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping

from pushwise.domain.clock import Clock
from pushwise.store.db import Database
from pushwise.store.ids import new_id
from pushwise.store.schema import api_keys

KeyKind = Literal["admin", "server", "client"]
KEY_PREFIXES: dict[KeyKind, str] = {"admin": "pw_admin_", "server": "pw_srv_", "client": "pw_cli_"}


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    app_id: str | None
    kind: KeyKind
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: `secret` is shown once and never stored."""

    record: ApiKeyRecord
    secret: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(kind: KeyKind, app_id: str | None, now: float) -> tuple[IssuedKey, dict[str, Any]]:
    """The key and the row that stores it, for callers that insert it in their own transaction."""
    if (kind == "admin") != (app_id is None):
        raise ValueError("admin keys belong to no app; server and client keys belong to one")
    secret = KEY_PREFIXES[kind] + secrets.token_urlsafe(32)
    record = ApiKeyRecord(new_id("key"), app_id, kind, now, None)
    row = {"id": record.id, "app_id": app_id, "kind": kind, "key_hash": hash_key(secret), "created_at": now}
    return IssuedKey(record, secret), row


def _record(row: RowMapping) -> ApiKeyRecord:
    return ApiKeyRecord(row["id"], row["app_id"], row["kind"], row["created_at"], row["revoked_at"])


_COLUMNS = (api_keys.c.id, api_keys.c.app_id, api_keys.c.kind, api_keys.c.created_at, api_keys.c.revoked_at)


class KeyRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def issue(self, kind: KeyKind, app_id: str | None) -> IssuedKey:
        issued, row = new_key(kind, app_id, self._clock.now())
        async with self._db.writing() as connection:
            await connection.execute(api_keys.insert().values(row))
        return issued

    async def find_active(self, key_hash: str) -> ApiKeyRecord | None:
        query = select(*_COLUMNS).where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
        async with self._db.read.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return _record(row) if row is not None else None

    async def find_active_by_id(self, key_id: str) -> ApiKeyRecord | None:
        query = select(*_COLUMNS).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        async with self._db.read.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return _record(row) if row is not None else None

    async def list_for_app(self, app_id: str) -> list[ApiKeyRecord]:
        query = (
            select(*_COLUMNS)
            .where(api_keys.c.app_id == app_id)
            .order_by(api_keys.c.created_at, api_keys.c.id)
        )
        async with self._db.read.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_record(row) for row in rows]

    async def revoke(self, app_id: str, key_id: str) -> tuple[ApiKeyRecord, str] | None:
        """Revoke one of the app's keys; returns the record and its hash (to evict caches)."""
        now = self._clock.now()
        async with self._db.writing() as connection:
            await connection.execute(
                update(api_keys)
                .where(api_keys.c.app_id == app_id, api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            query = select(*_COLUMNS, api_keys.c.key_hash).where(
                api_keys.c.app_id == app_id, api_keys.c.id == key_id
            )
            row = (await connection.execute(query)).mappings().first()
        return (_record(row), row["key_hash"]) if row is not None else None
