"""`pushwise --version` prints the one version the package has (API.md, pinned for tools)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pushwise

ROOT = Path(__file__).resolve().parents[2]


def test_version_prints_the_package_version_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pushwise", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"pushwise {pushwise.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", pushwise.__version__)


def test_the_version_has_one_source() -> None:
    """pyproject.toml reads the version from `pushwise.__version__` instead of repeating it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/pushwise/__init__.py"
