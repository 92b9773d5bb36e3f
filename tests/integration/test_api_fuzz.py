"""Schemathesis against the live server, inside a loopback-only network namespace (a bounded run).

Fuzzed input names URLs the server may act on (webhooks, receipts, provider endpoints, Web Push
subscriptions). The namespace has nothing but `lo`, so nothing can leave the machine whatever
the input says; the server otherwise keeps its defaults (private endpoints refused). Needs root
and `ip` (iproute2): it skips without them, and fails instead under PUSHWISE_REQUIRE_ALL.
Longer runs: see `tests/integration/api_fuzz.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import missing

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 90


def loopback_namespace(name: str) -> list[str]:
    """Make the namespace (only `lo`, up); returns the prefix that runs a command inside it."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        missing("network namespaces need root and iproute2's `ip`")
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        missing(f"cannot make a network namespace: {made.stderr.strip()}")
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    return ["ip", "netns", "exec", name]


def test_fuzzing_the_api_finds_no_server_error_and_no_answer_outside_the_contract(tmp_path: Path) -> None:
    name = f"pwfuzz{os.getpid()}"
    inside = loopback_namespace(name)
    try:
        links = subprocess.run([*inside, "ip", "-o", "link"], capture_output=True, text=True, check=True)
        assert [line.split(":")[1].strip() for line in links.stdout.splitlines()] == ["lo"]
        report = tmp_path / "report.json"
        command = [sys.executable, "-m", "tests.integration.api_fuzz", "--seconds", str(SECONDS)]
        run = subprocess.run(
            [*inside, *command, "--report", str(report)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
    print(run.stdout.splitlines()[-1] if run.stdout else run.stderr[-2000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["operations"]["tested"] == data["operations"]["selected"]
    assert data["test_cases"]["generated"] > 500
    assert data["failures"] == []
