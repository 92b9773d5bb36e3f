"""`pushwise import devices FILE`: the command around the importer (app, progress bar, summary).

The summary and the refused rows go to standard output, the progress bar to standard error, so
`pushwise import devices tokens.csv > report.txt` keeps a clean record. The exit code is 0 when
every row was imported, 1 when some were refused, 2 when the import could not run at all.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from pushwise.bootstrap import Services, build_services
from pushwise.device_import.importer import DEFAULT_BATCH, DeviceImporter, ImportReport
from pushwise.device_import.sources import FORMATS, UnreadableFile, guess_format, open_text, read
from pushwise.settings import Settings
from pushwise.store.apps import AppRepository
from pushwise.store.devices import DeviceRepository


class ImportRefused(Exception):
    """The import cannot run (no such app, unknown format, unreadable file): nothing was stored."""


async def _app_id(services: Services, wanted: str | None) -> str:
    apps = AppRepository(services.db, services.clock)
    if wanted is not None:
        if await apps.get(wanted) is None:
            raise ImportRefused(f"no app {wanted!r} in this database")
        return wanted
    existing = await apps.list_all()
    if len(existing) != 1:
        names = ", ".join(f"{app.id} ({app.name})" for app in existing) or "none yet"
        raise ImportRefused(f"name the app with --app; apps: {names}")
    return existing[0].id


def import_devices(
    settings: Settings,
    path: Path,
    *,
    app: str | None,
    file_format: str | None,
    dry_run: bool,
    batch_size: int = DEFAULT_BATCH,
    out: Console,
    progress_to: Console,
) -> ImportReport:
    chosen = file_format or guess_format(path)
    if chosen not in FORMATS:
        raise ImportRefused(f"cannot tell the format of {path.name}: give --format ({', '.join(FORMATS)})")
    if not path.is_file():
        raise ImportRefused(f"no file {path}")
    return asyncio.run(
        _run(
            settings,
            path,
            chosen,
            path.stat().st_size,
            app=app,
            dry_run=dry_run,
            batch_size=batch_size,
            out=out,
            progress_to=progress_to,
        )
    )


async def _run(
    settings: Settings,
    path: Path,
    chosen: str,
    size: int,
    *,
    app: str | None,
    dry_run: bool,
    batch_size: int,
    out: Console,
    progress_to: Console,
) -> ImportReport:
    services = build_services(settings)
    try:
        app_id = await _app_id(services, app)
        importer = DeviceImporter(
            DeviceRepository(services.db, services.clock),
            app_id,
            allow_private=settings.allow_private_endpoints,
            turned_off=services.engine.failure_notices.turned_off,
            batch_size=batch_size,
            dry_run=dry_run,
        )
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=progress_to, transient=True) as progress:
            task = progress.add_task("importing" if not dry_run else "checking", rows=0)

            def watch(raw: BinaryIO) -> BinaryIO:
                return progress.wrap_file(raw, total=size, task_id=task)

            with open_text(path, watch) as text:
                try:
                    source = read(text, chosen)
                except UnreadableFile as error:
                    raise ImportRefused(str(error)) from error
                for warning in source.warnings:
                    out.print(f"warning: {escape(warning)}")
                rows = 0

                def seen(count: int) -> None:
                    nonlocal rows
                    rows += count
                    progress.update(task, rows=rows)

                try:
                    return await importer.run(source.rows, seen)
                except UnreadableFile as error:
                    raise ImportRefused(str(error)) from error
    finally:
        await services.close()


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def print_report(report: ImportReport, out: Console) -> None:
    for row in report.refused:
        out.print(f"row {row.number} refused: {escape(row.reason)}")
    refused = len(report.refused)
    if report.dry_run:
        out.print(
            f"dry run: {_rows(report.imported)} would be imported, {refused:,} refused; nothing was stored"
        )
    else:
        out.print(
            f"imported {_rows(report.imported)} ({report.created:,} new devices, {report.updated:,} "
            f"updates of known ones), refused {refused:,}"
        )
