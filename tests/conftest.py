"""Suite-wide rules for outside services.

A test that needs PostgreSQL or Chromium skips with a clear message where that is
missing, so a newcomer's `pytest` still passes; with `PUSHWISE_REQUIRE_ALL=1` (CI)
the same test fails instead, so CI never silently skips it. Hypothesis runs derandomized.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest
from hypothesis import settings

# Property tests explore the same examples on every run: a failure seen once is seen again,
# and CI never goes red on an example no developer's run produced.
settings.register_profile("pushwise", derandomize=True, database=None)
settings.load_profile("pushwise")

POSTGRES_HOST = os.environ.get("PUSHWISE_TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("PUSHWISE_TEST_POSTGRES_PORT", "5432"))
CHROMIUM = os.environ.get("PUSHWISE_TEST_CHROMIUM", "/usr/bin/chromium")


def require_all() -> bool:
    return os.environ.get("PUSHWISE_REQUIRE_ALL", "").lower() in ("1", "true", "yes")


def missing(what: str) -> None:
    """Skip, or fail under PUSHWISE_REQUIRE_ALL, because `what` is not available."""
    if require_all():
        pytest.fail(f"{what} (PUSHWISE_REQUIRE_ALL=1: required, not skipped)")
    pytest.skip(what)


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Base URL of the test PostgreSQL server (user postgres, trust auth); skips or fails if absent."""
    if not postgres_reachable():
        missing(f"PostgreSQL is not reachable at {POSTGRES_HOST}:{POSTGRES_PORT}")
    return f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's Chromium for Playwright; skips or fails if absent."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM if os.path.exists(CHROMIUM) else str(shutil.which("chromium"))
