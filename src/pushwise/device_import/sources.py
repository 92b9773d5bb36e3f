"""The files `pushwise import devices` reads, each turned into rows in the shape of the body of
`POST /v1/devices` (plus `tags`), numbered for the person fixing them.

- `csv`: a header row naming the body's fields; `subscription` and `tags` cells hold JSON; data
  rows are numbered from 1 after the header. Empty cells are left out.
- `jsonl`: one JSON object per line; a row's number is its line number (blank lines are skipped).
- `onesignal`: OneSignal's subscription CSV export (`POST /players/csv_export`, gzipped or not):
  `device_type` 0 is iOS, 1 Android, 5 and 8 (Chrome, Firefox) Web Push with the `web_auth` and
  `web_p256` extra fields; `identifier` is the token (the endpoint for Web Push),
  `external_user_id` the user, `language` the locale, `timezone_id` the time zone (the numeric
  `timezone` offset names no zone and is not used), `tags` (a JSON object) become `key:value`
  tags. Unsubscribed rows (`invalid_identifier` true, negative `notification_types`) are refused.
- `firebase`: the token store Firebase's FCM guide describes, exported as JSON: a collection
  `{"fcmTokens": {"<user id>": {"token": "...", "timestamp": ...}}}` or the bare mapping
  `{"<user id>": {"token": ...}}`; documents are numbered from 1 in file order, and each token is
  an FCM (`android`) device of the user named by its document id.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO, cast

FORMATS = ("csv", "jsonl", "onesignal", "firebase")
DEVICE_FIELDS = frozenset(
    {"platform", "token", "subscription", "user_id", "timezone", "locale", "push_permission", "tags"}
)
_JSON_CELLS = ("subscription", "tags")
_ONESIGNAL_PLATFORMS = {"0": "ios", "1": "android", "5": "web", "8": "web"}
_ONESIGNAL_NAMES = {
    "2": "Amazon",
    "3": "Windows Phone",
    "4": "Chrome app",
    "6": "Windows",
    "7": "Safari (legacy)",
    "9": "macOS",
    "10": "Alexa",
    "11": "e-mail",
    "13": "Huawei",
    "14": "SMS",
}
_TRUE = frozenset({"t", "true", "1", "yes"})


class UnreadableFile(Exception):
    """The file as a whole cannot be read in the format asked for."""


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One row: its fields, or why it could not be read (`fields` is None then)."""

    number: int
    fields: dict[str, Any] | None
    problem: str | None = None


@dataclass
class Source:
    rows: Iterator[SourceRow]
    warnings: list[str] = field(default_factory=list)


def guess_format(path: Path) -> str | None:
    suffixes = [suffix.lower() for suffix in path.suffixes if suffix.lower() != ".gz"]
    last = suffixes[-1] if suffixes else ""
    return {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "firebase"}.get(last)


def open_text(path: Path, watch: Callable[[BinaryIO], BinaryIO] = lambda raw: raw) -> TextIO:
    """The file as text; gzip (OneSignal's exports) is recognised by its magic number. `watch`
    wraps the raw file (a progress bar counting the bytes read)."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    raw = watch(path.open("rb"))
    binary: IO[bytes] = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if gzipped else raw
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def read(text: TextIO, file_format: str) -> Source:
    if file_format == "csv":
        return _device_csv(text)
    if file_format == "jsonl":
        return Source(_jsonl(text))
    if file_format == "onesignal":
        return _onesignal(text)
    if file_format == "firebase":
        return Source(_firebase(text))
    raise UnreadableFile(f"unknown format {file_format!r}; use one of {', '.join(FORMATS)}")


def _header(reader: Any) -> list[str]:
    try:
        return [name.strip() for name in next(reader)]
    except StopIteration:
        raise UnreadableFile("the file is empty: a CSV import starts with a header row") from None


def _device_csv(text: TextIO) -> Source:
    reader = csv.reader(text)
    header = _header(reader)
    unknown = [name for name in header if name not in DEVICE_FIELDS]
    warnings = [f"column {name!r} is not a device field and is ignored" for name in unknown]
    if "platform" not in header:
        raise UnreadableFile("the header names no 'platform' column")
    return Source(_device_csv_rows(reader, header), warnings)


def _device_csv_rows(reader: Any, header: list[str]) -> Iterator[SourceRow]:
    known = [(index, name) for index, name in enumerate(header) if name in DEVICE_FIELDS]
    for number, cells in enumerate(reader, start=1):
        fields: dict[str, Any] = {}
        problem = None
        for index, name in known:
            cell = cells[index].strip() if index < len(cells) else ""
            if not cell:
                continue
            if name in _JSON_CELLS:
                try:
                    fields[name] = json.loads(cell)
                except json.JSONDecodeError:
                    problem = f"{name}: the cell is not JSON"
                    break
            else:
                fields[name] = cell
        yield SourceRow(number, None if problem else fields, problem)


def _jsonl(text: TextIO) -> Iterator[SourceRow]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as error:
            yield SourceRow(number, None, f"not JSON ({error.msg})")
            continue
        if isinstance(fields, dict):
            yield SourceRow(number, fields)
        else:
            yield SourceRow(number, None, "not a JSON object")


def _onesignal(text: TextIO) -> Source:
    reader = csv.reader(text)
    header = _header(reader)
    missing = {"identifier", "device_type"} - set(header)
    if missing:
        raise UnreadableFile(f"not a OneSignal export: no {', '.join(sorted(missing))} column")
    return Source(
        SourceRow(number, *_onesignal_row(dict(zip(header, cells, strict=False))))
        for number, cells in enumerate(reader, start=1)
    )


def _onesignal_row(cells: dict[str, str]) -> tuple[dict[str, Any] | None, str | None]:
    kind = cells.get("device_type", "").strip()
    platform = _ONESIGNAL_PLATFORMS.get(kind)
    if platform is None:
        name = _ONESIGNAL_NAMES.get(kind, "unknown")
        return None, f"device_type {kind} ({name}) is not a channel pushwise imports"
    if cells.get("invalid_identifier", "").strip().lower() in _TRUE:
        return None, "unsubscribed in OneSignal (invalid_identifier)"
    types = cells.get("notification_types", "").strip()
    if types.lstrip("-").isdigit() and int(types) < 0:
        return None, f"unsubscribed in OneSignal (notification_types {types})"
    identifier = cells.get("identifier", "").strip()
    fields: dict[str, Any] = {"platform": platform}
    if platform == "web":
        keys = {"p256dh": cells.get("web_p256", "").strip(), "auth": cells.get("web_auth", "").strip()}
        fields["subscription"] = {"endpoint": identifier, "keys": keys}
    else:
        fields["token"] = identifier
    for column, name in (
        ("external_user_id", "user_id"),
        ("language", "locale"),
        ("timezone_id", "timezone"),
    ):
        value = cells.get(column, "").strip()
        if value:
            fields[name] = value
    tags = cells.get("tags", "").strip()
    if tags:
        try:
            pairs = json.loads(tags)
        except json.JSONDecodeError:
            return None, "tags: the cell is not JSON"
        if not isinstance(pairs, dict):
            return None, "tags: OneSignal tags are a JSON object"
        fields["tags"] = [f"{key}:{value}" for key, value in pairs.items()]
    return fields, None


def _firebase(text: TextIO) -> Iterator[SourceRow]:
    try:
        document = json.load(text)
    except json.JSONDecodeError as error:
        raise UnreadableFile(f"not JSON ({error.msg}, line {error.lineno})") from None
    if isinstance(document, dict) and isinstance(document.get("fcmTokens"), dict):
        document = document["fcmTokens"]
    if not isinstance(document, dict):
        raise UnreadableFile('expected {"fcmTokens": {"<user id>": {"token": ...}}} or that mapping alone')
    for number, (user_id, stored) in enumerate(document.items(), start=1):
        if not isinstance(stored, dict) or not isinstance(stored.get("token"), str):
            yield SourceRow(number, None, f'{user_id}: no "token" string in the document')
        else:
            yield SourceRow(number, {"platform": "android", "token": stored["token"], "user_id": user_id})
