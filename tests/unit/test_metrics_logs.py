"""Logs are JSON lines carrying the ids bound around the work."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest
import structlog

from pushwise.monitoring.logs import configure_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def test_standard_logging_lines_are_json_with_bound_ids(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("info")
    with structlog.contextvars.bound_contextvars(app_id="app_1", delivery_id=42):
        logging.getLogger("pushwise.delivery").warning("provider %s slow", "apns")
    logging.getLogger("pushwise.delivery").debug("not shown at info")
    [line] = capsys.readouterr().err.strip().splitlines()
    record = orjson.loads(line)
    assert record["event"] == "provider apns slow"
    assert (record["app_id"], record["delivery_id"], record["level"]) == ("app_1", 42, "warning")


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("chatty")
