"""`pushwise import devices` against a real SQLite database: what is stored, what is refused (and
stores nothing, not even its user), idempotent re-imports, `--dry-run`, the export formats, and the
command itself (exit codes, output)."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from pushwise.admin import create_app_with_keys
from pushwise.bootstrap import build_services
from pushwise.device_import.command import ImportRefused, import_devices, print_report
from pushwise.device_import.importer import ImportReport
from pushwise.settings import Settings
from pushwise.store.devices import Device, DeviceRepository
from pushwise.store.migrate import upgrade
from pushwise.store.users import User, UserRepository

from .conftest import SECRET_KEY

pytestmark = pytest.mark.integration

IOS = [f"{n:064x}" for n in range(10)]
FCM = [f"fcm-token_{n:040d}" for n in range(10)]
CSV = (
    "platform,token,user_id,locale,timezone,tags\n"
    f'ios,{IOS[1]},ana,fr-FR,Europe/Paris,"[""vip"", ""shoes""]"\n'  # row 1
    f"android,{FCM[1]},ana,,,\n"  # row 2
    "ios,not-a-token,zoe,,,\n"  # row 3: refused, and zoe must not exist
    f"ios,{IOS[2]},bob,,Mars/Olympus,\n"  # row 4: refused (time zone), bob must not exist
    f'android,{FCM[2]},,,,"[""orphan""]"\n'  # row 5: refused (tags without a user)
    f'ios,{IOS[3]},bob2,,,"[""vip""]"\n'  # row 6
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'import.db'}",
        secret_key=SECRET_KEY,
        secret_key_file=str(tmp_path / "pushwise.key"),
    )
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def app_id(settings: Settings) -> str:
    return asyncio.run(create_app_with_keys(settings, "shop"))["app_id"]


def run_import(settings: Settings, path: Path, **options: object) -> tuple[ImportReport, str]:
    out = io.StringIO()
    console = Console(file=out, width=200)
    report = import_devices(
        settings,
        path,
        app=options.pop("app", None),  # type: ignore[arg-type]
        file_format=options.pop("file_format", None),  # type: ignore[arg-type]
        dry_run=bool(options.pop("dry_run", False)),
        batch_size=int(options.pop("batch_size", 2)),  # type: ignore[call-overload]
        out=console,
        progress_to=Console(file=io.StringIO()),
    )
    print_report(report, console)
    return report, out.getvalue()


def stored(settings: Settings, app_id: str) -> tuple[list[Device], dict[str, User | None]]:
    async def read() -> tuple[list[Device], dict[str, User | None]]:
        services = build_services(settings)
        try:
            users = UserRepository(services.db, services.clock)
            people = {name: await users.get(app_id, name) for name in ("ana", "zoe", "bob", "bob2")}
            devices = DeviceRepository(services.db, services.clock)
            found = [
                d for p in people.values() if p is not None for d in await devices.list_for_user(app_id, p.id)
            ]
            return found, people
        finally:
            await services.close()

    return asyncio.run(read())


def test_rows_are_registered_and_refused_rows_store_nothing(
    settings: Settings, app_id: str, tmp_path: Path
) -> None:
    source = tmp_path / "devices.csv"
    source.write_text(CSV)
    report, _ = run_import(settings, source)
    assert (report.imported, report.created) == (3, 3)
    assert [(r.number, r.reason.split(":")[0]) for r in report.refused] == [
        (3, "token"),
        (4, "timezone"),
        (5, "tags"),
    ]
    devices, people = stored(settings, app_id)
    assert sorted(d.token for d in devices) == sorted([IOS[1], FCM[1], IOS[3]])
    assert people["zoe"] is None
    assert people["bob"] is None
    ana = people["ana"]
    assert ana is not None
    assert (ana.tags, ana.timezone, ana.locale) == (["vip", "shoes"], "Europe/Paris", "fr-FR")


def test_importing_the_same_file_again_adds_nothing(settings: Settings, app_id: str, tmp_path: Path) -> None:
    source = tmp_path / "devices.csv"
    source.write_text(CSV)
    run_import(settings, source)
    before = stored(settings, app_id)
    again, summary = run_import(settings, source, batch_size=1000)
    assert (again.imported, again.created, again.updated) == (3, 0, 3)
    after = stored(settings, app_id)
    assert sorted(d.id for d in after[0]) == sorted(d.id for d in before[0])
    assert after[1]["ana"].tags == ["vip", "shoes"]  # type: ignore[union-attr]
    assert summary.splitlines()[-1] == "imported 3 rows (0 new devices, 3 updates of known ones), refused 3"


def test_tags_are_added_to_a_known_users_tags(settings: Settings, app_id: str, tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(
        json.dumps({"platform": "ios", "token": IOS[4], "user_id": "ana", "tags": ["vip"]}) + "\n"
    )
    second.write_text(
        json.dumps({"platform": "android", "token": FCM[4], "user_id": "ana", "tags": ["new", "vip"]}) + "\n"
    )
    run_import(settings, first)
    run_import(settings, second)
    assert stored(settings, app_id)[1]["ana"].tags == ["vip", "new"]  # type: ignore[union-attr]


def test_a_dry_run_checks_and_reports_without_storing(
    settings: Settings, app_id: str, tmp_path: Path
) -> None:
    source = tmp_path / "devices.csv"
    source.write_text(CSV)
    report, summary = run_import(settings, source, dry_run=True)
    assert (report.imported, len(report.refused)) == (3, 3)
    assert "row 3 refused: token:" in summary
    assert summary.splitlines()[-1] == "dry run: 3 rows would be imported, 3 refused; nothing was stored"
    assert stored(settings, app_id) == ([], {"ana": None, "zoe": None, "bob": None, "bob2": None})


def test_onesignal_and_firebase_exports(settings: Settings, app_id: str, tmp_path: Path) -> None:
    onesignal = tmp_path / "users.csv.gz"
    onesignal.write_bytes(
        gzip.compress(
            (
                "id,identifier,device_type,language,tags,invalid_identifier,external_user_id,timezone_id\n"
                f'p1,{IOS[5]},0,fr,"{{""plan"": ""gold""}}",f,ana,Europe/Paris\n'
                f"p2,{IOS[6]},0,en,,t,zoe,\n"
            ).encode()
        )
    )
    report, _ = run_import(settings, onesignal, file_format="onesignal")
    assert (report.imported, [r.number for r in report.refused]) == (1, [2])
    firebase = tmp_path / "fcm-tokens.json"
    firebase.write_text(json.dumps({"fcmTokens": {"bob2": {"token": FCM[5], "timestamp": 1}}}))
    assert run_import(settings, firebase)[0].created == 1
    devices, people = stored(settings, app_id)
    assert sorted(d.token for d in devices) == sorted([IOS[5], FCM[5]])
    assert people["ana"].tags == ["plan:gold"]  # type: ignore[union-attr]
    assert people["zoe"] is None


def test_several_apps_need_app(settings: Settings, app_id: str, tmp_path: Path) -> None:
    other = asyncio.run(create_app_with_keys(settings, "other"))["app_id"]
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"platform": "ios", "token": IOS[7], "user_id": "ana"}) + "\n")
    with pytest.raises(ImportRefused, match="--app"):
        run_import(settings, source)
    assert run_import(settings, source, app=other)[0].created == 1
    assert stored(settings, app_id)[0] == []  # nothing landed in the first app
    with pytest.raises(ImportRefused, match="no app"):
        run_import(settings, source, app="app_nope")


def test_the_command_exit_codes_and_output(settings: Settings, app_id: str, tmp_path: Path) -> None:
    source = tmp_path / "devices.csv"
    source.write_text(CSV)
    env = {**os.environ, "PUSHWISE_DATABASE_URL": settings.database_url, "PUSHWISE_SECRET_KEY": SECRET_KEY}

    def pushwise(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pushwise", "import", "devices", *args]
        return subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
        )

    refused = pushwise(str(source))
    assert refused.returncode == 1, refused.stderr
    lines = refused.stdout.splitlines()
    assert lines[0].startswith("row 3 refused: token: ")
    assert lines[-1] == "imported 3 rows (3 new devices, 0 updates of known ones), refused 3"
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join(CSV.splitlines()[:3]) + "\n")
    assert pushwise(str(clean), "--app", app_id).returncode == 0
    unknown = pushwise(str(tmp_path / "devices.txt"))
    assert unknown.returncode == 2
    assert "--format" in unknown.stderr
