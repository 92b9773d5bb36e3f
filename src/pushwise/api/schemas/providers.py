"""`/v1/apps/{app_id}/providers/...`: provider credentials (secrets go in, never out)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import Strict

Pem = Annotated[str, Field(min_length=1, max_length=20_000)]


class ApnsIn(Strict):
    topic: Annotated[str, Field(min_length=1, max_length=255, description="The app's bundle id.")]
    environment: Literal["production", "development"] = "production"
    team_id: str | None = None
    key_id: str | None = None
    private_key: Pem | None = Field(default=None, description="The .p8 signing key (PEM) for token auth.")
    certificate: Pem | None = Field(
        default=None, description="Client certificate (PEM) for certificate auth."
    )
    certificate_key: Pem | None = None
    endpoint: Annotated[str, Field(max_length=2048)] | None = Field(
        default=None, description="Override of Apple's host, e.g. a simulator's https://host:port."
    )
    ca_file: Annotated[str, Field(max_length=4096)] | None = Field(
        default=None, description="Path on the server of a PEM CA bundle to trust (for simulators)."
    )


class ApnsOut(BaseModel):
    channel: Literal["apns"] = "apns"
    auth: Literal["token", "certificate"]
    topic: str
    environment: str
    team_id: str | None = None
    key_id: str | None = None
    endpoint: str | None = None
    ca_file: str | None = None
    certificate_subject: str | None = None
    certificate_expires_at: datetime | None = None
    updated_at: datetime
