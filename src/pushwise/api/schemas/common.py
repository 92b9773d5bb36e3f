"""Shapes shared by several resources."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from pushwise.domain.profile_fields import check_email, check_locale, check_phone, check_timezone

ExternalId = Annotated[str, Field(min_length=1, max_length=255)]
# The largest row id both engines store (a signed 64-bit integer): ids and cursors beyond it name
# nothing, and must be refused before a driver is asked to bind them.
MAX_ROW_ID = 2**63 - 1


def row_id(text: str) -> int | None:
    """A decimal id or cursor as given in a path or query, or None when it cannot name a row."""
    return int(text) if text.isascii() and text.isdigit() and int(text) <= MAX_ROW_ID else None


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(check_timezone)]
Locale = Annotated[str, Field(max_length=35), AfterValidator(check_locale)]
Phone = Annotated[str, Field(max_length=32), AfterValidator(check_phone)]
Email = Annotated[str, Field(max_length=320), AfterValidator(check_email)]


class Strict(BaseModel):
    """Unknown fields are refused: a misspelt setting must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


def when(epoch: float | None) -> datetime | None:
    """Stored epoch seconds as the API's ISO 8601 UTC timestamps."""
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
