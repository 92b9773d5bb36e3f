"""Liveness and readiness."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services

pytestmark = pytest.mark.integration


async def test_a_migrated_database_is_ready(client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


@pytest.mark.parametrize(
    ("database", "code"),
    [("unmigrated.db", "schema_outdated"), ("missing-dir/nested/x.db", "database_unreachable")],
)
async def test_not_ready_without_a_current_database(settings, tmp_path, serve, database, code) -> None:
    other = build_services(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / database}"))
    try:
        async with serve(create_app(other)) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["error"]["code"] == code
    finally:
        await other.close()
