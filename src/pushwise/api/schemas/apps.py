"""`/v1/apps`: apps and their keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from pushwise.api.schemas.common import Strict, at, when
from pushwise.store.apps import App
from pushwise.store.keys import ApiKeyRecord, IssuedKey


class AppIn(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class AppCreatedOut(BaseModel):
    id: str
    name: str
    server_key: str = Field(description="Shown once; store it now.")
    client_key: str = Field(description="Shown once; safe to ship in a mobile or web app.")
    created_at: datetime


class KeyOut(BaseModel):
    id: str
    kind: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, record: ApiKeyRecord) -> KeyOut:
        return cls(
            id=record.id,
            kind=record.kind,
            created_at=at(record.created_at),
            revoked_at=when(record.revoked_at),
        )


class AppOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    keys: list[KeyOut] | None = Field(default=None, description="The app's keys (never their secrets).")

    @classmethod
    def of(cls, app: App, keys: list[ApiKeyRecord] | None = None) -> AppOut:
        listed = [KeyOut.of(record) for record in keys] if keys is not None else None
        return cls(id=app.id, name=app.name, created_at=at(app.created_at), keys=listed)


class AppPage(BaseModel):
    items: list[AppOut]


class KeyIn(Strict):
    kind: Literal["server", "client"]


class KeyCreatedOut(KeyOut):
    key: str = Field(description="Shown once; store it now.")

    @classmethod
    def issued(cls, issued: IssuedKey) -> KeyCreatedOut:
        record = issued.record
        return cls(
            id=record.id,
            kind=record.kind,
            created_at=at(record.created_at),
            revoked_at=None,
            key=issued.secret,
        )
