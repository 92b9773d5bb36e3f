"""The Web SDK's JavaScript unit tests (tests/js/*.test.mjs), run by the machine's Node.js test runner.

They need no npm packages: Node's own `node:test`, `vm`, `fetch`, streams and MessageChannel.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import missing

TESTS = Path(__file__).resolve().parents[1] / "js"


def test_the_web_sdk_passes_its_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        missing("Node.js is not installed (apt-get install nodejs)")
    files = sorted(str(path) for path in TESTS.glob("*.test.mjs"))
    assert files
    run = subprocess.run(
        [str(node), "--test", *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
