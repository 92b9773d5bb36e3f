"""The built wheel stands on its own: installed into a fresh virtual environment, `pushwise demo`
migrates its database from the packaged migrations and serves the dashboard's packaged templates
and static files.

Cost is bounded: the wheel builds in seconds with the test environment's hatchling (no build
isolation, no index). The dependencies' wheels are collected once per dependency set into a
cache (`PUSHWISE_TEST_CACHE`, default `~/.cache/pushwise-tests`) and each run installs from there
with `--no-index`, into a new environment; the demo then runs for a few seconds.
"""

from __future__ import annotations

import email
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import venv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from .test_cli import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "pushwise"
DEMO_SECONDS = 5


def pip(*args: str | Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", dist, ROOT)
    [built] = dist.glob("pushwise-*.whl")
    return built


def runtime_requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(name))
    return sorted(r for r in metadata.get_all("Requires-Dist", []) if "extra ==" not in r)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Two test runs on one machine (a developer's and CI's) fill the cache once."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def dependency_wheelhouse(wheel: Path) -> Path:
    requirements = runtime_requirements(wheel)
    key = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("PUSHWISE_TEST_CACHE", Path.home() / ".cache" / "pushwise-tests"))
    cache.mkdir(parents=True, exist_ok=True)
    house = cache / f"wheelhouse-{key}"
    with locked(cache / "wheelhouse.lock"):
        if not (house / ".complete").exists():
            partial = cache / f"{house.name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            pip("wheel", "--wheel-dir", partial, *requirements)
            (partial / ".complete").touch()
            shutil.rmtree(house, ignore_errors=True)
            partial.rename(house)
    return house


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment holding the wheel and its dependencies, nothing from this checkout."""
    environment = tmp_path_factory.mktemp("fresh-venv")
    venv.EnvBuilder(with_pip=False, clear=True).create(environment)
    python = environment / "bin" / "python"
    pip("--python", python, "install", "--no-index", "--find-links", dependency_wheelhouse(wheel), wheel)
    return environment


def packaged_files() -> set[str]:
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_carries_the_dashboard_assets_and_the_migrations(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        inside = set(archive.namelist())
    assert packaged_files() - inside == set()
    assert {n for n in inside if n.startswith("pushwise/store/migrations/versions/")}
    assert {n for n in inside if n.startswith("pushwise/dashboard/static/")}
    assert "pushwise/dashboard/templates/base.html" in inside
    assert {"pushwise/web_sdk/pushwise.js", "pushwise/web_sdk/pushwise-sw.js"} <= inside


def isolated_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PUSHWISE_", "VIRTUAL_ENV"))}
    # wide enough that Rich keeps each printed key on one line; the demo's scratch files in tmp_path
    return {**env, "COLUMNS": "250", "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}


def test_pushwise_runs_from_the_installed_wheel_alone(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [installed / "bin" / "python", "-c", "import pushwise; print(pushwise.__file__)"],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(installed)


def test_the_demo_runs_from_the_installed_wheel_and_serves_its_dashboard(
    installed: Path, tmp_path: Path
) -> None:
    port = free_port()
    command = ["demo", "--devices", "100", "--port", str(port), "--duration", str(DEMO_SECONDS)]
    demo = subprocess.Popen(
        [installed / "bin" / "pushwise", *command],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(180, demo.kill)
    watchdog.start()
    lines: list[str] = []
    pages: dict[str, int] = {}
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("Dashboard:"):
                pages = visit_dashboard(port, admin_key=line.split("admin key ")[1].split()[0])
        assert demo.wait() == 0, "".join(lines)
    finally:
        watchdog.cancel()
        demo.kill()
    output = "".join(lines)
    assert "What happened" in output
    assert "delivered first time" in output
    assert pages == {"/dashboard/login": 303, "/dashboard": 200, "/dashboard/static/dashboard.css": 200}


def visit_dashboard(port: int, admin_key: str) -> dict[str, int]:
    """Templates and static files are read from the installed package while the demo runs."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        login = http.post("/dashboard/login", data={"key": admin_key})
        overview = http.get("/dashboard")
        css = http.get("/dashboard/static/dashboard.css")
    assert "pushwise" in overview.text
    assert css.text.strip()
    return {
        "/dashboard/login": login.status_code,
        "/dashboard": overview.status_code,
        "/dashboard/static/dashboard.css": css.status_code,
    }
