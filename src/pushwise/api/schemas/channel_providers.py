"""`/v1/apps/{app_id}/providers/email` and `/webhook`: settings in, secrets never out."""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from pushwise.api.schemas.common import Strict
from pushwise.domain.profile_fields import check_email


def _check_sender(value: str) -> str:
    """`shop@example.com` or `Shop <shop@example.com>`."""
    check_email(parseaddr(value)[1])
    return value


Sender = Annotated[str, Field(min_length=3, max_length=400), AfterValidator(_check_sender)]


class EmailProviderIn(Strict):
    host: Annotated[str, Field(min_length=1, max_length=255, description="SMTP server host name.")]
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    username: Annotated[str, Field(min_length=1, max_length=320)] | None = None
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    sender: Sender = Field(description="From address, e.g. `Shop <news@shop.example>`.")
    starttls: bool = Field(default=True, description="Upgrade with STARTTLS (and require it).")
    ca_file: Annotated[str, Field(max_length=4096)] | None = Field(
        default=None, description="Path on the server of a PEM CA bundle to trust (for simulators)."
    )


class EmailProviderOut(BaseModel):
    channel: Literal["email"] = "email"
    host: str
    port: int
    username: str | None
    sender: str
    starttls: bool
    ca_file: str | None
    has_password: bool
    updated_at: datetime


class WebhookProviderIn(Strict):
    url: Annotated[str, Field(min_length=1, max_length=2048, description="Public https URL.")]
    secret: Annotated[str, Field(min_length=16, max_length=256)] = Field(
        description="Shared secret for the `Pushwise-Signature` HMAC (at least 16 characters)."
    )


class WebhookProviderOut(BaseModel):
    channel: Literal["webhook"] = "webhook"
    url: str
    updated_at: datetime
