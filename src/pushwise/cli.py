"""The `pushwise` command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

import pushwise
from pushwise.population.command import population_command
from pushwise.settings import Settings, SettingsError, load_settings
from pushwise.simulators.cli import simulate_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Durable push notifications.")
apps_app = typer.Typer(no_args_is_help=True, help="Manage apps.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
secrets_app = typer.Typer(no_args_is_help=True, help="Stored secrets.")
import_app = typer.Typer(no_args_is_help=True, help="Bring an existing token base in.")
app.add_typer(apps_app, name="apps")
app.add_typer(db_app, name="db")
app.add_typer(secrets_app, name="secrets")
app.add_typer(import_app, name="import")
app.add_typer(simulate_app, name="simulate")
simulate_app.command("population")(population_command)

Host = Annotated[str | None, typer.Option(help="Address to listen on [default: PUSHWISE_HOST or 127.0.0.1].")]
Port = Annotated[int | None, typer.Option(help="Port to listen on [default: PUSHWISE_PORT or 8080].")]
ConfigFile = Annotated[
    str | None, typer.Option("--config", help="TOML settings file (also PUSHWISE_CONFIG).")
]


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"pushwise {pushwise.__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Durable push notifications."""


def _settings(config: str | None = None, **overrides: object) -> Settings:
    try:
        return load_settings(config_file=config).with_overrides(**overrides)
    except SettingsError as error:
        raise typer.BadParameter(str(error)) from error


@app.command()
def serve(host: Host = None, port: Port = None, config: ConfigFile = None) -> None:
    """Run the API, the workers and the scheduler in one process (one machine, SQLite by default)."""
    from pushwise.serving import run_http

    run_http(_settings(config, host=host, port=port), with_workers=True)


@app.command()
def api(host: Host = None, port: Port = None, config: ConfigFile = None) -> None:
    """Run only the HTTP API (scale out: several of these share one PostgreSQL)."""
    from pushwise.serving import run_http

    run_http(_settings(config, host=host, port=port), with_workers=False)


@app.command()
def worker(config: ConfigFile = None) -> None:
    """Run only delivery workers; SIGTERM drains in-flight batches before exiting."""
    from pushwise.serving import run_worker

    run_worker(_settings(config))


@app.command("admin-key")
def admin_key(config: ConfigFile = None) -> None:
    """Create a server-wide admin key and print it (shown once; stored hashed)."""
    from pushwise.admin import create_admin_key

    settings = _settings(config)
    _migrate_embedded(settings)
    typer.echo(asyncio.run(create_admin_key(settings)))


@apps_app.command("create")
def apps_create(name: str, config: ConfigFile = None) -> None:
    """Create an app and print its id, server key and client key (keys are shown once)."""
    from pushwise.admin import create_app_with_keys

    settings = _settings(config)
    _migrate_embedded(settings)
    created = asyncio.run(create_app_with_keys(settings, name))
    for field, value in created.items():
        typer.echo(f"{field}: {value}")


@secrets_app.command("rotate")
def secrets_rotate(
    new_key_file: Annotated[
        str | None,
        typer.Option(
            help="File holding the new key [default: a new random key; required with PUSHWISE_SECRET_KEY]."
        ),
    ] = None,
    config: ConfigFile = None,
) -> None:
    """Re-seal every stored secret under a new key; rerun to finish one that was interrupted."""
    from pushwise.secret_rotation import RotationRefused, rotate_secrets

    settings = _settings(config)
    _migrate_embedded(settings)
    try:
        done = rotate_secrets(
            settings.database_url,
            env_key=settings.secret_key,
            key_file=settings.secret_key_file,
            new_key_file=new_key_file,
        )
    except RotationRefused as refused:
        typer.echo(f"not rotated: {refused}", err=True)
        raise typer.Exit(1) from refused
    typer.echo(f"re-sealed {done.resealed} secrets under the new key")
    if done.key_file:
        typer.echo(f"the new key is in {done.key_file}; restart running servers")
    else:
        typer.echo("set PUSHWISE_SECRET_KEY to the new key, then restart running servers")


@db_app.command("upgrade")
def db_upgrade(config: ConfigFile = None) -> None:
    """Apply pending schema migrations."""
    from pushwise.store import migrate

    settings = _settings(config)
    migrate.upgrade(settings.database_url)
    typer.echo(f"schema at {', '.join(sorted(migrate.head_revisions()))}")


@db_app.command("migrate-from")
def db_migrate_from(
    source: Annotated[str, typer.Argument(help="The embedded install to copy, e.g. sqlite:///./pushwise.db")],
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per insert batch.")] = 5000,
    config: ConfigFile = None,
) -> None:
    """Copy an existing install (all tables, ids kept) into the configured, empty PostgreSQL."""
    from pushwise.store import migrate
    from pushwise.store.copy import CopyRefused, copy_database
    from pushwise.store.db import open_database

    settings = _settings(config)
    migrate.upgrade(settings.database_url)

    async def run() -> None:
        target = open_database(settings.database_url, pool_size=1)
        try:
            copied = await copy_database(source, target, batch_size=batch_size)
        finally:
            await target.dispose()
        for table in copied:
            typer.echo(f"{table.name}: {table.rows} rows")

    try:
        asyncio.run(run())
    except CopyRefused as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error


@import_app.command("devices")
def import_devices(
    file: Annotated[
        Path, typer.Argument(help="CSV, JSONL, a OneSignal export (.csv or .csv.gz) or Firebase JSON.")
    ],
    app_id: Annotated[
        str | None, typer.Option("--app", help="The app to import into (needed when there are several).")
    ] = None,
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv, jsonl, onesignal or firebase [default: from the file name]."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and report; store nothing.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = 2000,
    config: ConfigFile = None,
) -> None:
    """Register devices from a file through the API's registration; refused rows are listed by number.

    Exit code 0: every row imported; 1: some rows refused; 2: the import could not run.
    """
    from rich.console import Console

    from pushwise.device_import.command import ImportRefused, import_devices, print_report

    settings = _settings(config)
    _migrate_embedded(settings)
    out = Console(highlight=False, soft_wrap=True)
    try:
        report = import_devices(
            settings,
            file,
            app=app_id,
            file_format=file_format,
            dry_run=dry_run,
            batch_size=batch_size,
            out=out,
            progress_to=Console(stderr=True),
        )
    except ImportRefused as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    print_report(report, out)
    if report.refused:
        raise typer.Exit(1)


@app.command()
def demo(
    devices: Annotated[
        int, typer.Option(min=10, max=200_000, help="How many demo devices to register.")
    ] = 3000,
    port: Annotated[int, typer.Option(help="API port.")] = 8080,
    database: Annotated[
        str, typer.Option(help="Database URL for the demo.")
    ] = "sqlite:///./pushwise-demo.db",
    keep_running: Annotated[
        bool, typer.Option(help="After the report, keep serving the dashboard with a trickle of traffic.")
    ] = True,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop the trickle after this many seconds (scripted runs).")
    ] = None,
) -> None:
    """Start pushwise and an APNs simulator with realistic faults, send, and show what happened."""
    from pushwise.demo import run_demo

    run_demo(devices=devices, port=port, database_url=database, keep_running=keep_running, duration=duration)


def _migrate_embedded(settings: Settings) -> None:
    from pushwise.serving import prepare_database

    prepare_database(settings)


def main() -> None:
    app()
