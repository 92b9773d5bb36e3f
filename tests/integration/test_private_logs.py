"""No device token, e-mail address, phone number or signed link ends up in a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from pushwise.api.app import create_app
from pushwise.store.db import open_database
from pushwise.store.driver import run
from pushwise.store.schema import devices, users
from tests.integration.conftest import serve_app
from tests.integration.pg_databases import fresh_store

pytestmark = pytest.mark.integration

EMAIL, PHONE, TOKEN = "secret-person@example.com", "+4915199999999", "f00d" * 16


def _user_row() -> dict[str, object]:
    return {
        "id": "usr_x",
        "app_id": "no-such-app",  # the foreign key fails, so the statement's values would be shown
        "external_id": "x",
        "email": EMAIL,
        "phone": PHONE,
        "attributes": {},
        "tags": [],
        "created_at": 0.0,
        "updated_at": 0.0,
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_database_errors_never_show_the_values_they_were_given(engine, request, tmp_path: Path) -> None:
    server = request.getfixturevalue("postgres_server") if engine == "postgresql" else None
    async with fresh_store(engine, server, tmp_path) as url:
        db = open_database(url)
        try:
            with pytest.raises(IntegrityError) as through_the_driver:
                await db.transact(lambda conn: run(conn, insert(users), [_user_row(), _user_row()]))
            with pytest.raises(IntegrityError) as through_the_engine:
                async with db.writing() as conn:
                    await conn.execute(
                        insert(devices).values(
                            id="dev_x",
                            app_id="no-such-app",
                            platform="ios",
                            token=TOKEN,
                            active=True,
                            created_at=0.0,
                            updated_at=0.0,
                        )
                    )
        finally:
            await db.dispose()
    for error in (through_the_driver.value, through_the_engine.value):
        shown = str(error)
        assert "hidden due to hide_parameters" in shown
        assert EMAIL not in shown
        assert PHONE not in shown
        assert TOKEN not in shown


async def test_an_unhandled_error_logs_the_route_not_the_path(services, caplog) -> None:
    app = create_app(services)

    async def fails(token: str) -> None:
        raise RuntimeError("boom")

    app.add_api_route("/v1/boom/{token}", fails)
    async with serve_app(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        with caplog.at_level(logging.ERROR, logger="pushwise.api"):
            answer = await http.get(f"/v1/boom/{TOKEN}")
    assert answer.status_code == 500
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/v1/boom/{token}" in logged
    assert TOKEN not in logged
