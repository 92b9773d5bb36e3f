"""Gorush's `POST /api/push` and stats on the real server, with workers and the APNs and FCM
simulators: Gorush's own README requests verbatim (their placeholder tokens are not real tokens,
so they come back in `logs`), the same requests with real tokens delivered, and what pushwise
adds: dead tokens not revived, `notif_id` idempotency, tenancy."""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.delivery.service import WorkerService
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.simulators.china.harness import VendorSimulatorHandle, start_vendor_simulator
from pushwise.simulators.fcm import FcmSimulatorHandle, start_fcm_simulator
from pushwise.store.migrate import upgrade
from pushwise.store.schema import devices

from .conftest import ADMIN_KEY, SECRET_KEY, serve_app

pytestmark = pytest.mark.integration

# appleboy/gorush README, "Web API" and "Quick Start", as published (tokens are placeholders).
README: dict[str, dict[str, Any]] = {
    "quick start": {
        "notifications": [
            {
                "tokens": ["your_device_token"],
                "platform": 2,
                "title": "Hello World",
                "message": "Your first notification!",
            }
        ]
    },
    "ios basic": {
        "notifications": [
            {
                "tokens": ["ios_device_token"],
                "platform": 1,
                "title": "Hello iOS",
                "message": "Hello World iOS!",
            }
        ]
    },
    "android basic": {
        "notifications": [
            {
                "tokens": ["android_device_token"],
                "platform": 2,
                "title": "Hello Android",
                "message": "Hello World Android!",
            }
        ]
    },
    "huawei basic": {
        "notifications": [
            {
                "tokens": ["huawei_device_token"],
                "platform": 3,
                "title": "Hello Huawei",
                "message": "Hello World Huawei!",
            }
        ]
    },
    "ios custom sound": {
        "notifications": [
            {
                "tokens": ["ios_device_token"],
                "platform": 1,
                "title": "Important Alert",
                "message": "Critical notification",
                "apns": {"payload": {"aps": {"sound": {"name": "custom.wav", "critical": 1, "volume": 0.8}}}},
            }
        ]
    },
    "multiple platforms": {
        "notifications": [
            {"tokens": ["ios_token"], "platform": 1, "message": "Hello iOS!"},
            {"tokens": ["android_token"], "platform": 2, "message": "Hello Android!"},
        ]
    },
    "ios alert": {
        "notifications": [
            {
                "tokens": ["token_a", "token_b"],
                "platform": 1,
                "badge": 5,
                "alert": {
                    "title": "Game Request",
                    "body": "Bob wants to play poker",
                    "action-loc-key": "PLAY",
                },
            }
        ]
    },
    "ios sound": {
        "notifications": [
            {
                "tokens": ["token_a", "token_b"],
                "platform": 1,
                "message": "You got your emails.",
                "badge": 9,
                "sound": {"critical": 1, "name": "default", "volume": 1.0},
            }
        ]
    },
    "ios data": {
        "notifications": [
            {
                "tokens": ["token_a", "token_b"],
                "platform": 1,
                "message": "Hello World iOS!",
                "data": {"key1": "welcome", "key2": 2},
            }
        ]
    },
    "ios environments": {
        "notifications": [
            {
                "tokens": ["token_a", "token_b"],
                "platform": 1,
                "production": True,
                "message": "Hello World iOS Production!",
            },
            {
                "tokens": ["token_a", "token_b"],
                "platform": 1,
                "development": True,
                "message": "Hello World iOS Sandbox!",
            },
        ]
    },
    "ios live activity": {
        "notifications": [
            {
                "tokens": ["push_to_start_token"],
                "platform": 1,
                "push_type": "liveactivity",
                "topic": "com.example.app.push-type.liveactivity",
                "event": "start",
                "timestamp": 1685952000,
                "content-state": {"homeScore": 0, "awayScore": 0, "minute": 1, "period": "1H"},
                "attributes-type": "FootballMatchAttributes",
                "attributes": {"homeTeam": "Team 1", "awayTeam": "Team 2", "league": "Premier League"},
                "alert": {"title": "Team 1 vs Team 2", "body": "Kick-off! The match has started."},
            }
        ]
    },
    "android message": {
        "notifications": [
            {
                "tokens": ["token_a", "token_b"],
                "platform": 2,
                "message": "Hello World Android!",
                "title": "You got message",
            }
        ]
    },
    "android analytics label": {
        "notifications": [
            {
                "tokens": ["token_a", "token_b"],
                "platform": 2,
                "message": "Hello World Android!",
                "title": "You got message",
                "fcm_options": {"analytics_label": "example"},
            }
        ]
    },
    "android notification payload": {
        "notifications": [
            {
                "tokens": ["token_a", "token_b"],
                "platform": 2,
                "message": "Hello World Android!",
                "title": "You got message",
                "notification": {"icon": "myicon", "color": "#112244"},
            }
        ]
    },
    "android data": {
        "notifications": [
            {
                "tokens": ["token_a", "token_b"],
                "platform": 2,
                "message": "Hello World Android!",
                "title": "You got message",
                "data": {"Nick": "Mario", "body": "great match!", "Room": "PortugalVSDenmark"},
            }
        ]
    },
    "android topic": {
        "notifications": [
            {
                "topic": "highScores",
                "platform": 2,
                "message": "This is a Firebase Cloud Messaging Topic Message",
            }
        ]
    },
    "huawei message": {
        "notifications": [
            {
                "tokens": ["token_a", "token_b"],
                "platform": 3,
                "message": "Hello World Huawei!",
                "title": "You got message",
            }
        ]
    },
}


@pytest.fixture(scope="module")
def apns_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(tls=True, seed=15, workdir=str(tmp_path_factory.mktemp("apns"))) as sim:
        yield sim


@pytest.fixture(scope="module")
def fcm_sim() -> Iterator[FcmSimulatorHandle]:
    with start_fcm_simulator(tls=True, seed=15) as sim:
        yield sim


@dataclass
class Shop:
    http: httpx.AsyncClient
    app_id: str
    server_key: str
    client_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.server_key}"}

    async def push(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.http.post("/api/push", json=body, headers=self.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def settled(self, notification_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while True:
            status = (
                await self.http.get(f"/v1/notifications/{notification_id}", headers=self.headers)
            ).json()
            if status["status"] == "completed":
                return dict(status)
            assert time.monotonic() < deadline, status
            await asyncio.sleep(0.05)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[str, Services]]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'gorush.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        allow_private_endpoints=True,
        worker_poll_seconds=0.02,
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(15))
    try:
        async with serve_app(
            create_app(services, background=[WorkerService(services.engine.worker())])
        ) as url:
            yield url, services
    finally:
        await services.close()


async def open_shop(
    base_url: str, apns_sim: ApnsSimulatorHandle, fcm_sim: FcmSimulatorHandle, name: str = "shop"
) -> Shop:
    http = httpx.AsyncClient(base_url=base_url, timeout=10)
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    created = (await http.post("/v1/apps", json={"name": name}, headers=admin)).json()
    shop = Shop(http, created["id"], created["server_key"], created["client_key"])
    apns = {
        "team_id": apns_sim.team_id,
        "key_id": apns_sim.key_id,
        "private_key": apns_sim.private_key_pem,
        "topic": apns_sim.topic,
        "environment": "development",
        "endpoint": apns_sim.endpoint,
        "ca_file": apns_sim.ca_file,
    }
    fcm = {
        "service_account": fcm_sim.service_account,
        "endpoint": fcm_sim.endpoint,
        "token_uri": fcm_sim.token_uri,
        "ca_file": fcm_sim.ca_file,
    }
    for channel, body in (("apns", apns), ("fcm", fcm)):
        answer = await http.put(
            f"/v1/apps/{shop.app_id}/providers/{channel}", json=body, headers=shop.headers
        )
        assert answer.status_code == 200, answer.text
    return shop


@pytest.fixture
async def shop(
    live: tuple[str, Services], apns_sim: ApnsSimulatorHandle, fcm_sim: FcmSimulatorHandle
) -> AsyncIterator[Shop]:
    opened = await open_shop(live[0], apns_sim, fcm_sim)
    yield opened
    await opened.http.aclose()


def gorush_count(body: dict[str, Any]) -> int:
    """Gorush's `counts`: tokens (and a topic) of notifications for the platforms it sends to."""
    return sum(
        len(n.get("tokens", [])) + (1 if n.get("topic") and n["platform"] == 2 else 0)
        for n in body["notifications"]
        if n["platform"] in (1, 2)
    )


async def test_gorush_readme_requests_get_gorush_answers(shop: Shop) -> None:
    for name, body in README.items():
        answer = await shop.push(body)
        assert set(answer) >= {"counts", "logs", "success"}, name
        assert answer["success"] == "ok", name
        assert answer["counts"] == gorush_count(body), name
        named = [t for n in body["notifications"] for t in n.get("tokens") or [n.get("topic")]]
        assert sorted(log["token"] for log in answer["logs"]) == sorted(named), name
        for log in answer["logs"]:
            assert log["type"] == "failed-push"
            assert log["platform"] in ("ios", "android", "huawei")
            assert log["error"]
        assert answer["accepted"] == [], name


def ios_token(n: int) -> str:
    return f"{n:064x}"


def fcm_token(n: int) -> str:
    return f"fcm-token_{n:040d}"


def with_tokens(body: dict[str, Any], tokens: dict[str, str]) -> dict[str, Any]:
    real = copy.deepcopy(body)
    for notification in real["notifications"]:
        notification["tokens"] = [tokens[token] for token in notification.get("tokens", [])]
    return real


async def test_readme_requests_with_real_tokens_are_delivered_with_their_fields(
    shop: Shop, apns_sim: ApnsSimulatorHandle, fcm_sim: FcmSimulatorHandle
) -> None:
    ios = {"ios_token": ios_token(1), "token_a": ios_token(2), "token_b": ios_token(3)}
    android = {"android_token": fcm_token(1), "token_a": fcm_token(2), "token_b": fcm_token(3)}
    for name in ("multiple platforms", "ios alert", "ios sound", "ios data"):
        body = with_tokens(README[name], {**ios, "android_token": android["android_token"]})
        answer = await shop.push(body)
        assert (answer["counts"], answer["logs"]) == (gorush_count(body), []), name
        for accepted in answer["accepted"]:
            assert (await shop.settled(accepted["id"]))["counts"]["delivered"] == accepted["recipients"]
    for name in ("android notification payload", "android data"):
        answer = await shop.push(with_tokens(README[name], android))
        assert answer["logs"] == [], name
        assert (await shop.settled(answer["accepted"][0]["id"]))["counts"]["delivered"] == 2

    alert, sound, data = (item["payload"] for item in apns_sim.received(ios_token(2))[-3:])
    assert alert["aps"]["alert"] == {
        "title": "Game Request",
        "body": "Bob wants to play poker",
        "action-loc-key": "PLAY",
    }
    assert alert["aps"]["badge"] == 5
    assert sound["aps"]["sound"] == {"critical": 1, "name": "default", "volume": 1.0}
    assert sound["aps"]["badge"] == 9
    assert data["key1"] == "welcome"
    assert data["aps"]["alert"] == {"body": "Hello World iOS!"}
    assert apns_sim.received(ios_token(1))[-1]["payload"]["aps"]["alert"] == {"body": "Hello iOS!"}
    assert fcm_sim.received(fcm_token(1))[-1]["payload"]["message"]["notification"] == {
        "body": "Hello Android!"
    }
    payload, data_message = (item["payload"]["message"] for item in fcm_sim.received(fcm_token(2))[-2:])
    assert payload["android"]["notification"]["icon"] == "myicon"
    assert payload["android"]["notification"]["color"] == "#112244"
    assert data_message["data"]["Room"] == "PortugalVSDenmark"
    assert data_message["notification"] == {"title": "You got message", "body": "Hello World Android!"}


async def test_a_dead_token_is_logged_with_its_reason_and_not_revived(shop: Shop) -> None:
    registered = await shop.http.post(
        "/v1/devices",
        json={"platform": "ios", "token": ios_token(7), "push_permission": "denied"},
        headers=shop.headers,
    )
    device_id = registered.json()["id"]
    answer = await shop.push(
        {"notifications": [{"tokens": [ios_token(7), ios_token(8)], "platform": 1, "message": "Hi"}]}
    )
    assert answer["counts"] == 2
    assert [(log["token"], log["error"]) for log in answer["logs"]] == [(ios_token(7), "PermissionDenied")]
    assert answer["accepted"][0]["recipients"] == 1
    device = (await shop.http.get(f"/v1/devices/{device_id}", headers=shop.headers)).json()
    assert (device["active"], device["deactivated_reason"]) == (False, "PermissionDenied")


async def test_notif_id_makes_a_retried_request_one_notification(shop: Shop) -> None:
    body = {
        "notifications": [
            {"notif_id": "order-42", "tokens": [ios_token(9)], "platform": 1, "message": "Shipped"}
        ]
    }
    first, again = await shop.push(body), await shop.push(body)
    assert first["accepted"][0]["id"] == again["accepted"][0]["id"]
    changed = copy.deepcopy(body)
    changed["notifications"][0]["message"] = "Cancelled"
    conflict = await shop.push(changed)
    assert conflict["accepted"] == []
    assert "Idempotency-Key" in conflict["logs"][0]["error"]
    assert conflict["logs"][0]["notif_id"] == "order-42"


async def test_bad_requests_get_a_4xx_with_gorush_messages(shop: Shop) -> None:
    empty = await shop.http.post("/api/push", json={"notifications": []}, headers=shop.headers)
    assert (empty.status_code, empty.json()["error"]["message"]) == (400, "Notifications field is empty.")
    many = {"notifications": [{"tokens": [ios_token(1)], "platform": 1, "message": "x"}] * 101}
    over = await shop.http.post("/api/push", json=many, headers=shop.headers)
    assert (over.status_code, over.json()["error"]["message"]) == (
        400,
        "Number of notifications(101) over limit(100)",
    )
    missing = await shop.http.post("/api/push", json={"tokens": []}, headers=shop.headers)
    assert (missing.status_code, missing.json()["error"]["field"]) == (422, "notifications")


async def test_keys_and_tenancy(
    shop: Shop, live: tuple[str, Services], apns_sim: ApnsSimulatorHandle, fcm_sim: FcmSimulatorHandle
) -> None:
    body = {"notifications": [{"tokens": [ios_token(11)], "platform": 1, "message": "Mine"}]}
    assert (await shop.http.post("/api/push", json=body)).status_code == 401
    client_key = {"authorization": f"Bearer {shop.client_key}"}
    assert (await shop.http.post("/api/push", json=body, headers=client_key)).status_code == 403
    sent = await shop.push(body)
    await shop.settled(sent["accepted"][0]["id"])
    rival = await open_shop(live[0], apns_sim, fcm_sim, name="rival")
    try:
        rival_answer = await rival.push(body)  # the same token is a device of each app, apart
        assert rival_answer["accepted"][0]["id"] != sent["accepted"][0]["id"]
        await rival.settled(rival_answer["accepted"][0]["id"])
        mine = await shop.http.get(
            f"/v1/notifications/{rival_answer['accepted'][0]['id']}", headers=shop.headers
        )
        assert mine.status_code == 404
        await live[1].monitoring.flush()
        for each in (shop, rival):
            stats = (await each.http.get("/api/stat/app", headers=each.headers)).json()
            assert stats["ios"] == {"push_success": 1, "push_error": 0}
            assert stats["total_count"] == 1
    finally:
        await rival.http.aclose()


async def test_runtime_stats_answer_where_they_map(shop: Shop) -> None:
    stats = (await shop.http.get("/api/stat/go", headers=shop.headers)).json()
    assert stats["cpu_num"] >= 1
    assert stats["memory_sys"] > 0
    assert stats["goroutine_num"] >= 1


async def test_a_dry_run_is_checked_and_counted_with_nothing_registered_or_sent(
    shop: Shop, live: tuple[str, Services]
) -> None:
    body = {
        "notifications": [{"tokens": [ios_token(12), "bad"], "platform": 1, "message": "x", "dry_run": True}]
    }
    answer = await shop.push(body)
    assert (answer["counts"], answer["accepted"]) == (2, [])
    assert [log["token"] for log in answer["logs"]] == ["bad"]
    async with live[1].db.read.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(devices)) == 0


@pytest.fixture(scope="module")
def huawei_sim() -> Iterator[VendorSimulatorHandle]:
    with start_vendor_simulator("huawei", faults={"check_timestamps": False}) as sim:
        yield sim


async def test_platform_3_goes_through_the_apps_huawei_push_kit(
    shop: Shop, huawei_sim: VendorSimulatorHandle
) -> None:
    body = copy.deepcopy(README["huawei message"])
    body["notifications"][0]["tokens"] = ["hw-token-a", "hw-token-b"]
    unconfigured = await shop.push(body)
    assert (unconfigured["counts"], [log["error"] for log in unconfigured["logs"]]) == (
        0,
        ["huawei is not configured for this app"] * 2,
    )
    put = await shop.http.put(
        f"/v1/apps/{shop.app_id}/providers/huawei", json=huawei_sim.provider_config(), headers=shop.headers
    )
    assert put.status_code == 200, put.text
    body["notifications"][0]["huawei_data"] = '{"room": "PortugalVSDenmark"}'
    answer = await shop.push(body)
    assert (answer["counts"], answer["logs"]) == (2, [])
    status = await shop.settled(answer["accepted"][0]["id"])
    assert status["counts"]["delivered"] == 2
    counts = await huawei_sim.atoken_counts()
    assert counts["hw-token-a"]["delivered"] == 1
    verbatim = await shop.push(README["huawei message"])  # Push Kit tokens have no fixed shape
    assert (verbatim["counts"], verbatim["logs"], verbatim["accepted"][0]["recipients"]) == (2, [], 2)
