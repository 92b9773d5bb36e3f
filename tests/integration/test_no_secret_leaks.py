"""After a full run, no secret, key, token, e-mail address or phone number appears in the logs,
in `/metrics` or in an error answer.

The run: the real server with its workers and debug logging, an app set up through the API (APNs
credentials for the simulator, a webhook secret, an SMTP password, a receipt secret), users with
e-mail addresses and phone numbers, devices, notifications that are delivered, retried, refused
and whose tokens die, receipts that cannot be posted, and requests that are refused for every
reason an API refuses (bad key, revoked key, wrong scope, bad JSON, bad fields carrying secrets).
"""

from __future__ import annotations

import asyncio
import io
import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.monitoring.logs import configure_logging
from pushwise.serving import delivery_services
from pushwise.settings import Settings
from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator
from pushwise.store.migrate import upgrade
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY, serve_app

pytestmark = pytest.mark.integration

SMTP_PASSWORD = "smtp-password-Zq8vX2"
WEBHOOK_SECRET = "webhook-secret-Yp4kL9wq7"
RECEIPT_SECRET = "receipt-secret-Hn3mB6tr2"
EMAILS = ["ana.lima@example.com", "bo.chen@example.org"]
PHONES = ["+14155550123", "+8613800138000"]
LIVE = [f"{n:064x}" for n in range(1, 7)]
DEAD = [f"dead{n:060x}" for n in range(1, 4)]


@pytest.fixture(scope="module")
def simulator() -> Iterator[ApnsSimulatorHandle]:
    faults = {"dead_tokens": DEAD, "reasons": {"ServiceUnavailable": 0.3, "BadTopic": 0.05}}
    with start_apns_simulator(faults=faults, seed=3) as handle:
        yield handle


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """Everything logged, as pushwise's JSON lines at debug level (every logger, ours and libraries')."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("debug")
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'leaks.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        allow_private_endpoints=True,
        retry_base_seconds=0.05,
        retry_cap_seconds=0.2,
        retry_max_attempts=3,
        worker_poll_seconds=0.02,
    )


async def settled(http: httpx.AsyncClient, notification_id: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    while (await http.get(f"/v1/notifications/{notification_id}", headers=headers)).json()["status"] not in (
        "completed",
        "cancelled",
    ):
        assert time.monotonic() < deadline, "the notification did not settle"
        await asyncio.sleep(0.05)


async def run_everything(
    http: httpx.AsyncClient, simulator: ApnsSimulatorHandle
) -> tuple[list[str], list[str]]:
    """The full run; returns the secrets handed out and every error answer's body."""
    errors: list[str] = []
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    app = (await http.post("/v1/apps", json={"name": "shop"}, headers=admin)).json()
    server = {"authorization": f"Bearer {app['server_key']}"}
    client = {"authorization": f"Bearer {app['client_key']}"}
    base = f"/v1/apps/{app['id']}"

    async def call(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
        response = await http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            errors.append(response.text)
        return response

    apns = {
        "team_id": simulator.team_id,
        "key_id": simulator.key_id,
        "private_key": simulator.private_key_pem,
        "topic": simulator.topic,
        "environment": "development",
        "endpoint": simulator.endpoint,
        "ca_file": simulator.ca_file,
    }
    assert (await call("PUT", f"{base}/providers/apns", server, json=apns)).status_code == 200
    webhook = {"url": "http://127.0.0.1:9/hook", "secret": WEBHOOK_SECRET}
    assert (await call("PUT", f"{base}/providers/webhook", server, json=webhook)).status_code == 200
    email = {
        "host": "127.0.0.1",
        "port": 9,
        "username": "shop",
        "password": SMTP_PASSWORD,
        "sender": "s@example.com",
    }
    assert (await call("PUT", f"{base}/providers/email", server, json=email)).status_code == 200
    receipts = {
        "url": "http://127.0.0.1:9/receipts",
        "secret": RECEIPT_SECRET,
        "events": ["delivered", "failed"],
    }
    assert (await call("PUT", f"{base}/receipts", server, json=receipts)).status_code == 200

    tokens = []
    for n, (address, phone) in enumerate(zip(EMAILS, PHONES, strict=True)):
        user = {"email": address, "phone": phone, "timezone": "Asia/Shanghai"}
        assert (await call("PUT", f"/v1/users/u{n}", server, json=user)).status_code in (200, 201)
        issued = await call("POST", f"/v1/users/u{n}/token", server)
        tokens.append(issued.json()["user_token"])
    for n, device_token in enumerate(LIVE + DEAD):
        device = {"platform": "ios", "token": device_token, "user_id": f"u{n % 2}"}
        assert (await call("POST", "/v1/devices", server, json=device)).status_code == 201
    for n in range(4):
        body = {
            "to": {"user_ids": ["u0", "u1"]},
            "content": {"title": f"Sale {n}", "body": "Boots!"},
            "fallback": {"channels": ["email", "inbox"]},
        }
        accepted = await call("POST", "/v1/notifications", server, json=body)
        await settled(http, accepted.json()["id"], server)

    # refusals of every kind, several carrying secrets in their input
    revoked = (await call("POST", f"{base}/keys", server, json={"kind": "server"})).json()
    await call("DELETE", f"{base}/keys/{revoked['id']}", server)
    await call("GET", "/v1/notifications/x", {"authorization": f"Bearer {revoked['key']}"})
    await call("GET", "/v1/notifications/x", {"authorization": f"Bearer {app['server_key']}x"})
    await call("POST", "/v1/apps", client, json={"name": "x"})
    await call("GET", "/v1/inbox", client | {"x-pushwise-user-token": tokens[0] + "x"})
    await call("POST", "/v1/devices", client, json={"platform": "ios", "token": LIVE[0], "user_id": "u1"})
    bad_key = apns | {"private_key": simulator.private_key_pem.replace("PRIVATE", "PRIVAT")}
    await call("PUT", f"{base}/providers/apns", server, json=bad_key)
    await call(
        "PUT", f"{base}/providers/email", server, json=email | {"port": "smtp", "extra": SMTP_PASSWORD}
    )
    await call("PUT", "/v1/users/u0", server, json={"email": EMAILS[0] + "@", "phone": PHONES[0] + "x"})
    await call("POST", "/v1/devices", server, json={"platform": "ios", "token": LIVE[0] + "zz"})
    await call("POST", "/v1/notifications", server, content=b'{"to": {"user_ids": ["' + EMAILS[1].encode())
    assert len(errors) >= 10
    keys = [ADMIN_KEY, app["server_key"], app["client_key"], revoked["key"]]
    return keys + tokens, errors


async def test_no_secret_or_personal_data_in_logs_metrics_or_errors(
    tmp_path: Path, simulator: ApnsSimulatorHandle, logged: io.StringIO
) -> None:
    settings = settings_for(tmp_path)
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(5))
    app = create_app(services, background=delivery_services(services))
    try:
        async with serve_app(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            handed_out, errors = await run_everything(http, simulator)
            metrics = (await http.get("/metrics")).text
    finally:
        await services.close()
    logs = logged.getvalue()
    assert '"logger": "pushwise.' in logs  # the run's own log lines were captured
    assert "pushwise_deliveries_total" in metrics
    private_key_body = simulator.private_key_pem.splitlines()[1]
    secrets = {
        "SMTP password": SMTP_PASSWORD,
        "webhook secret": WEBHOOK_SECRET,
        "receipt secret": RECEIPT_SECRET,
        "APNs private key": private_key_body,
        "secret key": SECRET_KEY,
        **{f"key or token #{n}": value for n, value in enumerate(handed_out)},
        **{f"device token {token}": token for token in LIVE + DEAD},
        **{f"e-mail {address}": address for address in EMAILS},
        **{f"phone {phone}": phone for phone in PHONES},
    }
    places = {"logs": logs, "/metrics": metrics, "error answers": "\n".join(errors)}
    found = [
        f"{name} in {place}"
        for name, value in secrets.items()
        for place, text in places.items()
        if value in text
    ]
    assert not found, found
