"""The `pushwise` command as a newcomer uses it: keys, apps, and `serve` answering over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


def pushwise(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pushwise", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_admin_key_and_app_creation_work_on_a_fresh_directory(tmp_path: Path) -> None:
    admin_key = pushwise("admin-key", cwd=tmp_path).strip()
    assert admin_key.startswith("pw_admin_")
    created = dict(
        line.split(": ", 1) for line in pushwise("apps", "create", "shop", cwd=tmp_path).splitlines()
    )
    assert created["name"] == "shop"
    assert created["server_key"].startswith("pw_srv_")
    assert created["client_key"].startswith("pw_cli_")
    assert (tmp_path / "pushwise.db").exists()
    assert oct((tmp_path / "pushwise.key").stat().st_mode & 0o777) == "0o600"


def test_serve_answers_with_the_stored_keys_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    admin_key = pushwise("admin-key", cwd=tmp_path).strip()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pushwise", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "PUSHWISE_LOG_LEVEL": "warning"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.1)
        created = httpx.post(
            f"{base}/v1/apps", json={"name": "shop"}, headers={"authorization": f"Bearer {admin_key}"}
        )
        assert created.status_code == 201
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    finally:
        server.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal after its graceful shutdown, as init systems expect.
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)


def test_demo_runs_to_its_report(tmp_path: Path) -> None:
    """The README's first command ends in `pushwise demo`; a short scripted run must reach its report."""
    report = pushwise(
        "demo", "--devices", "200", "--port", str(free_port()), "--no-keep-running", cwd=tmp_path
    )
    assert "What happened" in report
    assert "delivered first time" in report
    assert "token dead, device pruned (Unregistered)" in report
