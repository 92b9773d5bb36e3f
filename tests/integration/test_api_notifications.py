"""`/v1/notifications` over real HTTP, with real workers and the APNs simulator on loopback."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.delivery.service import WorkerService
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store.migrate import upgrade

from .conftest import ADMIN_KEY, SECRET_KEY, serve_app

pytestmark = pytest.mark.integration
FINAL = {"delivered", "failed", "expired", "cancelled", "suppressed", "fallback"}


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(tls=True, seed=5, workdir=str(tmp_path_factory.mktemp("apns"))) as sim:
        yield sim


@dataclass
class Shop:
    http: httpx.AsyncClient
    app_id: str
    headers: dict[str, str]
    simulator: ApnsSimulatorHandle

    async def device(self, token: str, user_id: str | None = None) -> str:
        body: dict[str, Any] = {"platform": "ios", "token": token}
        if user_id:
            body["user_id"] = user_id
        response = await self.http.post("/v1/devices", json=body, headers=self.headers)
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    async def notify(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        return await self.http.post("/v1/notifications", json=body, headers={**self.headers, **headers})

    async def settled(self, notification_id: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = (
                await self.http.get(f"/v1/notifications/{notification_id}", headers=self.headers)
            ).json()
            if status["status"] in ("completed", "cancelled"):
                return dict(status)
            assert time.monotonic() < deadline, f"not settled: {status}"
            await asyncio.sleep(0.05)


@pytest.fixture
async def live(tmp_path: Path, simulator: ApnsSimulatorHandle) -> AsyncIterator[tuple[str, Settings]]:
    """The real server with its workers, on the system clock."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'live.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        allow_private_endpoints=True,
        retry_base_seconds=0.05,
        retry_cap_seconds=0.2,
        retry_max_attempts=3,
        worker_poll_seconds=0.02,
        max_body_bytes=64 * 1024,
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(9))
    simulator.reset()
    simulator.set_faults({})
    app = create_app(services, background=[WorkerService(services.engine.worker())])
    try:
        async with serve_app(app) as base_url:
            yield base_url, settings
    finally:
        await services.close()


async def open_shop(base_url: str, simulator: ApnsSimulatorHandle, name: str = "shop") -> Shop:
    http = httpx.AsyncClient(base_url=base_url, timeout=10)
    created = (
        await http.post("/v1/apps", json={"name": name}, headers={"authorization": f"Bearer {ADMIN_KEY}"})
    ).json()
    headers = {"authorization": f"Bearer {created['server_key']}"}
    response = await http.put(
        f"/v1/apps/{created['id']}/providers/apns",
        headers=headers,
        json={
            "team_id": simulator.team_id,
            "key_id": simulator.key_id,
            "private_key": simulator.private_key_pem,
            "topic": simulator.topic,
            "environment": "development",
            "endpoint": simulator.endpoint,
            "ca_file": simulator.ca_file,
        },
    )
    assert response.status_code == 200, response.text
    return Shop(http, created["id"], headers, simulator)


@pytest.fixture
async def shop(live: tuple[str, Settings], simulator: ApnsSimulatorHandle) -> AsyncIterator[Shop]:
    opened = await open_shop(live[0], simulator)
    yield opened
    await opened.http.aclose()


def token(n: int, prefix: str = "a") -> str:
    return f"{prefix}{n:063x}"


async def test_delivers_to_every_device_of_the_named_users(shop: Shop) -> None:
    for n in range(3):
        await shop.device(token(n), user_id="ana")
    await shop.device(token(9), user_id="bob")
    answer = await shop.notify(
        {
            "to": {"user_ids": ["ana"]},
            "content": {"title": "Hi Ana", "body": "Boots!"},
            "apns": {"push_type": "alert"},
            "collapse_key": "boots",
        }
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted"
    assert answer.json()["recipients"] == 3
    status = await shop.settled(answer.json()["id"])
    assert status["counts"]["delivered"] == 3
    assert sum(status["counts"].values()) == 3
    received = shop.simulator.received(token(0))[-1]
    assert received["headers"]["apns-collapse-id"] == "boots"
    assert received["payload"]["aps"]["alert"] == {"title": "Hi Ana", "body": "Boots!"}
    assert token(9) not in shop.simulator.token_counts()


async def test_delivery_listing_pages_with_a_cursor(shop: Shop) -> None:
    ids = [await shop.device(token(n)) for n in range(5)]
    answer = await shop.notify({"to": {"device_ids": ids}, "content": {"body": "x"}})
    notification_id = answer.json()["id"]
    await shop.settled(notification_id)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await shop.http.get(
                f"/v1/notifications/{notification_id}/deliveries", params=params, headers=shop.headers
            )
        ).json()
        seen += [item["device_id"] for item in page["items"]]
        for item in page["items"]:
            assert item["state"] == "delivered"
            assert item["attempts"] == 1
            assert item["channel"] == "apns"
            assert item["sent_at"]
            assert item["outcome_at"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    filtered = (
        await shop.http.get(
            f"/v1/notifications/{notification_id}/deliveries",
            params={"state": "failed"},
            headers=shop.headers,
        )
    ).json()
    assert filtered == {"items": [], "next_cursor": None}


async def test_retry_after_then_recovered(shop: Shop) -> None:
    device = await shop.device(token(1))
    shop.simulator.set_faults({"reasons": {"ServiceUnavailable": 1.0}, "retry_after_seconds": 1})
    answer = await shop.notify({"to": {"device_ids": [device]}, "content": {"body": "x"}})
    notification_id = answer.json()["id"]
    deadline = time.monotonic() + 10
    while True:
        items = (
            await shop.http.get(f"/v1/notifications/{notification_id}/deliveries", headers=shop.headers)
        ).json()["items"]
        if items[0]["state"] == "retrying":
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    first_try = time.monotonic()
    assert items[0]["last_error"] == {"reason": "ServiceUnavailable", "provider_status": 503}
    assert items[0]["next_attempt_at"] is not None
    shop.simulator.set_faults({})
    status = await shop.settled(notification_id)
    assert status["counts"]["delivered"] == 1
    assert time.monotonic() - first_try >= 0.8  # Retry-After: 1 was honoured
    items = (
        await shop.http.get(f"/v1/notifications/{notification_id}/deliveries", headers=shop.headers)
    ).json()["items"]
    assert items[0]["attempts"] == 2


async def test_every_retry_reason_dead_letters_after_the_last_attempt(shop: Shop) -> None:
    reasons = ["TooManyRequests", "InternalServerError", "ServiceUnavailable", "Shutdown"]
    for reason in reasons:
        device = await shop.device(token(len(reason)))
        shop.simulator.set_faults({"reasons": {reason: 1.0}})
        answer = await shop.notify({"to": {"device_ids": [device]}, "content": {"body": reason}})
        status = await shop.settled(answer.json()["id"])
        assert status["counts"]["failed"] == 1, reason
        item = (
            await shop.http.get(f"/v1/notifications/{answer.json()['id']}/deliveries", headers=shop.headers)
        ).json()["items"][0]
        assert item["attempts"] == 3, reason
        assert item["last_error"]["reason"] == reason


async def test_dead_token_is_pruned_and_never_sent_again(shop: Shop) -> None:
    dead = await shop.device(token(7, prefix="d"))
    shop.simulator.set_faults({"dead_tokens": [token(7, prefix="d")]})
    answer = await shop.notify({"to": {"device_ids": [dead]}, "content": {"body": "x"}})
    status = await shop.settled(answer.json()["id"])
    assert status["counts"]["failed"] == 1
    device = (await shop.http.get(f"/v1/devices/{dead}", headers=shop.headers)).json()
    assert device["active"] is False
    assert device["deactivated_reason"] == "Unregistered"
    assert device["deactivated_at"] is not None
    again = await shop.notify({"to": {"device_ids": [dead]}, "content": {"body": "y"}})
    assert again.json()["recipients"] == 0
    assert shop.simulator.token_counts()[token(7, prefix="d")]["received"] == 1


async def test_expiry_ends_retries_during_an_outage(shop: Shop) -> None:
    device = await shop.device(token(3))
    shop.simulator.set_faults({"retry_after_seconds": 2})  # Apple asks for longer than the message may live
    shop.simulator.set_outage(True)
    try:
        answer = await shop.notify(
            {"to": {"device_ids": [device]}, "content": {"body": "x"}, "ttl_seconds": 1}
        )
        status = await shop.settled(answer.json()["id"])
    finally:
        shop.simulator.set_outage(False)
    assert status["counts"]["expired"] == 1
    item = (
        await shop.http.get(f"/v1/notifications/{answer.json()['id']}/deliveries", headers=shop.headers)
    ).json()["items"][0]
    assert (item["attempts"], item["last_error"]["reason"]) == (1, "ServiceUnavailable")


async def test_idempotency_key_returns_the_first_answer(shop: Shop) -> None:
    device = await shop.device(token(4))
    body = {"to": {"device_ids": [device]}, "content": {"body": "once"}}
    first = await shop.notify(body, **{"idempotency-key": "order-42"})
    again = await shop.notify(body, **{"idempotency-key": "order-42"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    conflict = await shop.notify({**body, "content": {"body": "twice"}}, **{"idempotency-key": "order-42"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    await shop.settled(first.json()["id"])
    assert shop.simulator.token_counts()[token(4)]["received"] == 1


async def test_concurrent_retries_with_one_key_make_one_notification(shop: Shop) -> None:
    device = await shop.device(token(5))
    body = {"to": {"device_ids": [device]}, "content": {"body": "race"}}
    answers = await asyncio.gather(*(shop.notify(body, **{"idempotency-key": "race-1"}) for _ in range(8)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1


async def test_scheduled_notification_waits_and_can_be_cancelled(shop: Shop) -> None:
    device = await shop.device(token(6))
    answer = await shop.notify(
        {"to": {"device_ids": [device]}, "content": {"body": "later"}, "send_at": "2099-01-01T09:00:00Z"}
    )
    notification_id = answer.json()["id"]
    await asyncio.sleep(0.2)
    status = (await shop.http.get(f"/v1/notifications/{notification_id}", headers=shop.headers)).json()
    assert status["status"] == "accepted"
    assert status["counts"]["queued"] == 1
    cancelled = await shop.http.post(f"/v1/notifications/{notification_id}/cancel", headers=shop.headers)
    assert cancelled.json() == {"id": notification_id, "status": "cancelled", "cancelled": 1}
    status = (await shop.http.get(f"/v1/notifications/{notification_id}", headers=shop.headers)).json()
    assert status["status"] == "cancelled"
    assert status["counts"]["cancelled"] == 1
    assert token(6) not in shop.simulator.token_counts()


async def test_one_app_cannot_see_or_touch_another_apps_notifications(
    live: tuple[str, Settings], shop: Shop, simulator: ApnsSimulatorHandle
) -> None:
    device = await shop.device(token(8))
    answer = await shop.notify({"to": {"device_ids": [device]}, "content": {"body": "mine"}})
    notification_id = answer.json()["id"]
    other = await open_shop(live[0], simulator, name="rival")
    try:
        for method, path in [
            ("GET", f"/v1/notifications/{notification_id}"),
            ("GET", f"/v1/notifications/{notification_id}/deliveries"),
            ("POST", f"/v1/notifications/{notification_id}/cancel"),
        ]:
            response = await other.http.request(method, path, headers=other.headers)
            assert response.status_code == 404, (method, path)
            assert response.json()["error"]["code"] == "not_found"
        stolen = await other.notify({"to": {"device_ids": [device]}, "content": {"body": "theirs"}})
        assert stolen.status_code == 422
        assert stolen.json()["error"]["code"] == "unknown_device"
        everyone = await other.notify({"to": {"all": True}, "content": {"body": "all of mine"}})
        assert everyone.json()["recipients"] == 0
    finally:
        await other.http.aclose()


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"content": {"body": "x"}}, 422, "validation_error", "to"),
        ({"to": {}, "content": {"body": "x"}}, 422, "validation_error", "to"),
        ({"to": {"all": "yes please"}, "content": {"body": "x"}}, 422, "validation_error", "to.all"),
        ({"to": {"all": True}, "content": {}}, 422, "validation_error", None),
        (
            {"to": {"all": True}, "content": {"body": "x"}, "priority": "urgent"},
            422,
            "validation_error",
            "priority",
        ),
        (
            {"to": {"all": True}, "content": {"body": "x"}, "ttl_seconds": -1},
            422,
            "validation_error",
            "ttl_seconds",
        ),
        (
            {"to": {"all": True}, "content": {"body": "x"}, "apns": {"push_type": "fax"}},
            422,
            "validation_error",
            "apns.push_type",
        ),
        (
            {"to": {"all": True}, "content": {"body": "x"}, "collapse_key": "k" * 65},
            422,
            "validation_error",
            "collapse_key",
        ),
        (
            {"to": {"all": True}, "content": {"body": "x" * 4000, "data": {"blob": "y" * 3000}}},
            422,
            "payload_too_large",
            "content",
        ),
        (
            {"to": {"device_ids": ["dev_nope"]}, "content": {"body": "x"}},
            422,
            "unknown_device",
            "to.device_ids",
        ),
        ({"to": {"all": True}, "content": {"body": "x"}, "surprise": 1}, 422, "validation_error", "surprise"),
    ],
)
async def test_bad_requests_are_refused_with_a_reason(
    shop: Shop, body: dict[str, Any], status: int, code: str, field: str | None
) -> None:
    response = await shop.notify(body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if field is not None:
        assert error["field"] == field


async def test_malformed_json_and_oversize_bodies(shop: Shop) -> None:
    malformed = await shop.http.post(
        "/v1/notifications",
        content=b'{"to": {"all": tr',
        headers={**shop.headers, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"
    huge = {"to": {"all": True}, "content": {"body": "x"}, "fcm": {"pad": "z" * 70_000}}
    too_big = await shop.notify(huge)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "body_too_large"


async def test_client_keys_cannot_send(live: tuple[str, Settings], shop: Shop) -> None:
    created = (await shop.http.get(f"/v1/apps/{shop.app_id}", headers=shop.headers)).json()
    assert "client_key" not in created
    response = await shop.http.post(
        "/v1/notifications",
        json={"to": {"all": True}, "content": {"body": "x"}},
        headers={"authorization": "Bearer pw_cli_not-a-real-key"},
    )
    assert response.status_code == 401


async def test_notifications_to_a_segment_reach_its_members_devices(shop: Shop) -> None:
    countries = {"anna": "DE", "ben": "DE", "chloe": "FR"}
    for n, (user, country) in enumerate(countries.items()):
        await shop.http.put(
            f"/v1/users/{user}", json={"location": {"country": country}}, headers=shop.headers
        )
        await shop.device(token(n), user_id=user)
    await shop.device(token(9), user_id="ben")
    inline = await shop.notify(
        {
            "to": {"segment": {"rule": {"field": "country", "op": "=", "value": "DE"}}},
            "content": {"title": "Hallo"},
        }
    )
    assert inline.status_code == 202, inline.text
    assert inline.json()["recipients"] == 3
    assert (await shop.settled(inline.json()["id"]))["counts"]["delivered"] == 3
    assert set(shop.simulator.token_counts()) == {token(0), token(1), token(9)}

    french = (
        await shop.http.post(
            "/v1/segments",
            json={"name": "fr", "rule": {"field": "country", "op": "=", "value": "FR"}},
            headers=shop.headers,
        )
    ).json()
    saved = await shop.notify({"to": {"segment": {"id": french["id"]}}, "content": {"title": "Bonjour"}})
    assert saved.status_code == 202, saved.text
    assert saved.json()["recipients"] == 1
    assert (await shop.settled(saved.json()["id"]))["counts"]["delivered"] == 1
    assert shop.simulator.received(token(2))[-1]["payload"]["aps"]["alert"]["title"] == "Bonjour"
