"""FCM and Web Push credentials through the API, an FCM send end to end, the delivery trail,
and what the notification API refuses (oversize data, unknown or repeated fallback channels)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.delivery.service import WorkerService
from pushwise.providers.vapid import generate_vapid_keys
from pushwise.settings import Settings
from pushwise.simulators.fcm import FcmSimulatorHandle, start_fcm_simulator
from pushwise.store.migrate import upgrade
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY, serve_app

pytestmark = pytest.mark.integration

ANDROID = "fcm-token_" + "x1" * 40


@pytest.fixture(scope="module")
def fcm_sim() -> Iterator[FcmSimulatorHandle]:
    with start_fcm_simulator(tls=True, seed=4) as handle:
        yield handle


def fcm_body(sim: FcmSimulatorHandle, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_account": sim.service_account,
        "endpoint": sim.endpoint,
        "token_uri": sim.token_uri,
        "ca_file": sim.ca_file,
    }
    body.update(changes)
    return body


async def test_fcm_credentials_are_checked_stored_and_never_shown(client, make_app, fcm_sim) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/fcm"
    response = await client.put(url, json=fcm_body(fcm_sim), headers=shop.server_headers)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert (shown["channel"], shown["project_id"]) == ("fcm", fcm_sim.project_id)
    assert shown["client_email"] == fcm_sim.service_account["client_email"]
    assert "PRIVATE KEY" not in response.text
    assert (await client.get(url, headers=shop.server_headers)).json() == shown
    assert (await client.delete(url, headers=shop.server_headers)).status_code == 200
    assert (await client.get(url, headers=shop.server_headers)).status_code == 404


@pytest.mark.parametrize(
    ("account_change", "extra", "code", "field"),
    [
        ({"private_key": "not a key"}, {}, "invalid_service_account", "service_account"),
        ({"client_email": ""}, {}, "invalid_service_account", "service_account"),
        ({"project_id": None}, {}, "invalid_service_account", "service_account"),
        ({}, {"token_uri": "ftp://127.0.0.1/token"}, None, "token_uri"),
        ({}, {"endpoint": "https://"}, None, "endpoint"),
    ],
)
async def test_bad_fcm_credentials_are_refused_with_the_field(
    client, make_app, fcm_sim, account_change, extra, code, field
) -> None:
    shop = await make_app()
    account = {k: v for k, v in {**fcm_sim.service_account, **account_change}.items() if v is not None}
    body = fcm_body(fcm_sim, service_account=account, **extra)
    response = await client.put(f"/v1/apps/{shop.id}/providers/fcm", json=body, headers=shop.server_headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    if code:
        assert error["code"] == code


async def test_webpush_generates_a_vapid_key_pair_once(client, make_app) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/webpush"
    response = await client.put(url, json={"subject": "mailto:ops@example.com"}, headers=shop.server_headers)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert len(shown["vapid_public_key"]) == 87  # 65-byte uncompressed P-256 point, base64url
    assert "vapid_private_key" not in shown
    assert (await client.get(url, headers=shop.server_headers)).json() == shown


async def test_webpush_keeps_a_given_key_and_refuses_bad_input(client, make_app) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/webpush"
    private, public = generate_vapid_keys()
    body = {"subject": "https://example.com/contact", "vapid_private_key": private}
    response = await client.put(url, json=body, headers=shop.server_headers)
    assert response.json()["vapid_public_key"] == public
    bad_subject = await client.put(url, json={"subject": "ops@example.com"}, headers=shop.server_headers)
    assert bad_subject.json()["error"]["code"] == "invalid_subject"
    bad_key = await client.put(
        url, json={"subject": "mailto:a@b.c", "vapid_private_key": "abc"}, headers=shop.server_headers
    )
    assert bad_key.json()["error"]["code"] == "invalid_vapid_key"


@pytest.mark.parametrize(
    ("fallback", "data", "status", "code"),
    [
        ({}, {"blob": "y" * 5000}, 422, "payload_too_large"),
        ({"channels": ["inbox", "inbox"]}, {}, 422, None),
        ({"channels": ["sms"]}, {}, 422, None),
        ({}, {}, 202, None),  # a long body alone is shortened by the engine, not refused
    ],
)
async def test_what_the_notification_api_refuses(client, make_app, fallback, data, status, code) -> None:
    shop = await make_app()
    body = {"to": {"all": True}, "content": {"body": "x" * 4096, "data": data}, "fallback": fallback}
    response = await client.post("/v1/notifications", json=body, headers=shop.server_headers)
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error"]["code"] == code


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'live.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        allow_private_endpoints=True,
        worker_poll_seconds=0.02,
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(9))
    app = create_app(services, background=[WorkerService(services.engine.worker())])
    try:
        async with serve_app(app) as base_url:
            yield base_url
    finally:
        await services.close()


async def test_fcm_delivery_end_to_end_with_its_trail(live: str, fcm_sim: FcmSimulatorHandle) -> None:
    async with httpx.AsyncClient(base_url=live, timeout=10) as http:
        created = (
            await http.post(
                "/v1/apps", json={"name": "shop"}, headers={"authorization": f"Bearer {ADMIN_KEY}"}
            )
        ).json()
        headers = {"authorization": f"Bearer {created['server_key']}"}
        app_id = created["id"]
        put = await http.put(f"/v1/apps/{app_id}/providers/fcm", json=fcm_body(fcm_sim), headers=headers)
        assert put.status_code == 200, put.text
        device = await http.post(
            "/v1/devices", json={"platform": "android", "token": ANDROID, "user_id": "ana"}, headers=headers
        )
        assert device.status_code in (200, 201), device.text
        answer = await http.post(
            "/v1/notifications",
            json={"to": {"user_ids": ["ana"]}, "content": {"title": "Hi", "body": "Boots!"}},
            headers=headers,
        )
        notification_id = answer.json()["id"]
        deadline = time.monotonic() + 20
        while (await http.get(f"/v1/notifications/{notification_id}", headers=headers)).json()[
            "status"
        ] != "completed":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        page = (
            await http.get(
                f"/v1/notifications/{notification_id}/deliveries",
                params={"include": "trail"},
                headers=headers,
            )
        ).json()
        item = page["items"][0]
        assert (item["channel"], item["state"]) == ("fcm", "delivered")
        assert [step["kind"] for step in item["trail"]] == ["accepted", "attempt"]
        assert item["trail"][1]["detail"]["outcome"] == "delivered"
        one = (
            await http.get(f"/v1/notifications/{notification_id}/deliveries/{item['id']}", headers=headers)
        ).json()
        assert one == item
        missing = await http.get(f"/v1/notifications/{notification_id}/deliveries/999999", headers=headers)
        assert missing.status_code == 404
    received = fcm_sim.received(ANDROID)[-1]
    assert received["payload"]["message"]["notification"] == {"title": "Hi", "body": "Boots!"}
