"""`/v1/apps/{app_id}/providers/...`: provider credentials (secrets go in, never out)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

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


Url = Annotated[str, Field(max_length=2048)]
Path = Annotated[str, Field(max_length=4096)]


class FcmIn(Strict):
    service_account: dict[str, Any] = Field(
        description="The Firebase service account's key file (JSON), as downloaded from Google Cloud."
    )
    endpoint: Url | None = Field(default=None, description="Override of FCM's host, e.g. a simulator's.")
    token_uri: Url | None = Field(default=None, description="Override of the OAuth2 token endpoint.")
    ca_file: Path | None = Field(default=None, description="Path on the server of a PEM CA bundle to trust.")


class FcmOut(BaseModel):
    channel: Literal["fcm"] = "fcm"
    project_id: str
    client_email: str
    endpoint: str | None = None
    token_uri: str | None = None
    ca_file: str | None = None
    updated_at: datetime


class WebPushIn(Strict):
    subject: Annotated[str, Field(min_length=1, max_length=512)] = Field(
        description="How push services can reach you: a mailto: or https: URL (RFC 8292)."
    )
    vapid_private_key: Annotated[str, Field(min_length=1, max_length=4096)] | None = Field(
        default=None, description="An existing VAPID key (base64url raw P-256 or PEM); generated when absent."
    )
    ca_file: Path | None = Field(default=None, description="Path on the server of a PEM CA bundle to trust.")


class WebPushOut(BaseModel):
    channel: Literal["webpush"] = "webpush"
    subject: str
    vapid_public_key: str
    ca_file: str | None = None
    updated_at: datetime


class VapidPublicKeyOut(BaseModel):
    vapid_public_key: str = Field(
        description="The `applicationServerKey` a browser subscribes with (base64url, unpadded)."
    )
