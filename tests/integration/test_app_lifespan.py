"""Shutdown stops everything it started, even when a part of it cannot stop cleanly."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.settings import Settings

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self, stopped: list[str]) -> None:
        self.stopped = stopped

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self.stopped.append("recorder")


class Broken:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        raise RuntimeError("cannot stop")


async def test_a_service_that_fails_to_stop_does_not_keep_the_others_running(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    stopped: list[str] = []
    app = create_app(services, background=[Recorder(stopped), Broken()])  # stopped in reverse: Broken first
    with caplog.at_level(logging.ERROR):
        async with app.router.lifespan_context(app):
            pass
    assert stopped == ["recorder"]
    assert "stopping Broken failed" in caplog.text


async def test_monitoring_stops_quietly_when_its_database_is_gone(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"
    other = build_services(dataclasses.replace(settings, database_url=unreachable))
    try:
        app = create_app(other)
        with caplog.at_level(logging.WARNING):
            async with app.router.lifespan_context(app):
                pass
        assert "final monitoring flush failed" in caplog.text
        assert "stopping" not in caplog.text
    finally:
        await other.close()
