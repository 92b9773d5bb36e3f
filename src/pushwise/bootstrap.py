"""The composition root: builds the object graph from settings.

Nothing else reads settings or the environment. Tests and embedders call
`build_services` with their own `Settings`, clock and random source.
"""

from __future__ import annotations

import os
import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pushwise.domain.clock import Clock, SystemClock
from pushwise.settings import Settings
from pushwise.store.db import Database, open_database


@dataclass
class Services:
    settings: Settings
    clock: Clock
    rng: random.Random
    db: Database
    secret_key: bytes = field(repr=False)


def load_secret_key(settings: Settings) -> bytes:
    """The key that seals provider secrets at rest and signs user tokens.

    An explicit `PUSHWISE_SECRET_KEY` wins. Otherwise the embedded default keeps a
    random key in a file readable only by its owner, created on first start, so a
    single-machine install needs no set-up and its secrets survive restarts.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.secret_key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def build_services(settings: Settings, *, clock: Clock | None = None, rng: random.Random | None = None) -> Services:
    return Services(
        settings=settings,
        clock=clock or SystemClock(),
        rng=rng or random.Random(),
        db=open_database(settings.database_url, pool_size=settings.db_pool_size),
        secret_key=load_secret_key(settings),
    )
