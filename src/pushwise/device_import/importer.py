"""Rows to devices, in batches, through the registration the API uses (`registration_of` and
`DeviceRepository.register_many`): a row is checked exactly as `POST /v1/devices` checks a body.

A refused row never reaches the store, so it stores nothing, not even its user; the rows of a
batch are written in one transaction. Registration is an upsert on (platform, token) and tags are
added as a set, so importing the same file again creates nothing new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from pushwise.api.errors import field_path
from pushwise.api.schemas.devices import DeviceIn, registration_of
from pushwise.api.schemas.users import MAX_TAGS, Tag
from pushwise.device_import.sources import SourceRow
from pushwise.domain.device_tokens import TokenRejected
from pushwise.store.devices import DeviceRegistration, DeviceRepository

DEFAULT_BATCH = 2000


class ImportedDevice(DeviceIn):
    """The body of `POST /v1/devices`, plus the tags to add to the device's user."""

    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = Field(default_factory=list)

    @field_validator("tags")
    @classmethod
    def _tags_need_a_user(cls, tags: list[str], info: ValidationInfo) -> list[str]:
        if tags and info.data.get("user_id") is None:
            raise ValueError("tags are added to a user: give the row a user_id")
        return tags


class RowRefused(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Refused:
    number: int
    reason: str


@dataclass
class ImportReport:
    dry_run: bool
    imported: int = 0  # rows stored (or, in a dry run, that would be)
    created: int = 0  # devices new to the app
    refused: list[Refused] = field(default_factory=list)

    @property
    def updated(self) -> int:
        return self.imported - self.created


def checked(row: SourceRow, *, allow_private: bool) -> DeviceRegistration:
    """The registration a row asks for; `RowRefused` says why not, naming the field."""
    if row.fields is None:
        raise RowRefused(row.problem or "unreadable")
    try:
        device = ImportedDevice.model_validate(row.fields)
        return registration_of(device, allow_private=allow_private, tags=tuple(device.tags))
    except ValidationError as error:
        first = error.errors()[0]
        where = field_path(first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise RowRefused(f"{where}: {message}" if where else message) from None
    except TokenRejected as error:
        raise RowRefused(f"{error.field}: {error.message}") from None


TurnedOff = Callable[[str, set[str]], Awaitable[Any]]


class DeviceImporter:
    """`turned_off` is the engine's failure-notice hook, called as the API calls it for devices
    registered with the permission `denied`."""

    def __init__(
        self,
        devices: DeviceRepository,
        app_id: str,
        *,
        allow_private: bool,
        turned_off: TurnedOff,
        batch_size: int = DEFAULT_BATCH,
        dry_run: bool = False,
    ) -> None:
        self._devices = devices
        self._app_id = app_id
        self._allow_private = allow_private
        self._turned_off = turned_off
        self._batch_size = batch_size
        self._dry_run = dry_run

    async def run(self, rows: Iterable[SourceRow], seen: Callable[[int], None] | None = None) -> ImportReport:
        """Import every row; `seen(n)` is told after each batch how many rows it held (progress).

        While the writer stores one batch, the next is read and checked: SQLite works outside the
        interpreter lock, so the two overlap.
        """
        report = ImportReport(dry_run=self._dry_run)
        storing: asyncio.Task[None] | None = None
        batch: list[DeviceRegistration] = []
        read = 0
        for row in rows:
            read += 1
            try:
                batch.append(checked(row, allow_private=self._allow_private))
            except RowRefused as refused:
                report.refused.append(Refused(row.number, str(refused)))
            if read == self._batch_size:
                storing = await self._hand_over(storing, batch, read, report, seen)
                batch, read = [], 0
        storing = await self._hand_over(storing, batch, read, report, seen)
        await storing
        return report

    async def _hand_over(
        self,
        previous: asyncio.Task[None] | None,
        batch: list[DeviceRegistration],
        read: int,
        report: ImportReport,
        seen: Callable[[int], None] | None,
    ) -> asyncio.Task[None]:
        """Wait for the batch being stored, then start storing this one (in order: one at a time)."""
        if previous is not None:
            await previous

        async def store() -> None:
            await self._store(batch, report)
            if seen and read:
                seen(read)

        storing = asyncio.create_task(store())
        await asyncio.sleep(0)  # let it reach the writer before this task reads on
        return storing

    async def _store(self, batch: list[DeviceRegistration], report: ImportReport) -> None:
        if not batch:
            return
        report.imported += len(batch)
        if self._dry_run:
            return
        outcome = await self._devices.register_counted(self._app_id, batch)
        report.created += outcome.created
        if outcome.turned_off_users:
            await self._turned_off(self._app_id, outcome.turned_off_users)
