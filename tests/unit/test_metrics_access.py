"""The start-up warning about an open `/metrics`."""

from __future__ import annotations

import logging

import pytest

from pushwise.api.routes.metrics import warn_if_open


@pytest.mark.parametrize(
    ("host", "token", "warned"),
    [
        ("0.0.0.0", None, True),
        ("10.1.2.3", "", True),
        ("pushwise.example", None, True),
        ("0.0.0.0", "secret", False),
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("localhost", None, False),
    ],
)
def test_warns_only_when_open_beyond_loopback(
    caplog: pytest.LogCaptureFixture, host: str, token: str | None, warned: bool
) -> None:
    with caplog.at_level(logging.WARNING, logger="pushwise.api"):
        warn_if_open(host, token)
    assert any("PUSHWISE_METRICS_TOKEN" in r.getMessage() for r in caplog.records) is warned
