"""The dashboard in headless Chromium: login, overview equals the API, live update, dead-letter replay.

Runs the real server with workers and the APNs simulator on the system clock;
screenshots go to `test-artifacts/dashboard/`.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.delivery.service import WorkerService
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store.migrate import upgrade
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY, serve_app

pytestmark = pytest.mark.integration
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(tls=True, seed=8, workdir=str(tmp_path_factory.mktemp("apns"))) as sim:
        yield sim


@pytest.fixture
async def base_url(tmp_path: Path, simulator: ApnsSimulatorHandle) -> AsyncIterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'dash.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        allow_private_endpoints=True,
        retry_base_seconds=0.05,
        retry_cap_seconds=0.1,
        retry_max_attempts=2,
        worker_poll_seconds=0.05,
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(3))
    simulator.reset()
    simulator.set_faults({"dead_token_prefix": "dead"})
    try:
        async with serve_app(
            create_app(services, background=[WorkerService(services.engine.worker())])
        ) as url:
            yield url
    finally:
        await services.close()


class Shop:
    def __init__(self, http: httpx.AsyncClient, app_id: str, server_key: str) -> None:
        self.http, self.app_id, self.server_key = http, app_id, server_key
        self.headers = {"authorization": f"Bearer {server_key}"}

    async def notify(self, device_ids: list[str], title: str) -> str:
        body = {"to": {"device_ids": device_ids}, "content": {"title": title, "body": "boots"}}
        response = await self.http.post("/v1/notifications", json=body, headers=self.headers)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def settled(self, notification_id: str) -> None:
        deadline = time.monotonic() + 30
        while (await self.http.get(f"/v1/notifications/{notification_id}", headers=self.headers)).json()[
            "status"
        ] != "completed":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)

    async def deliveries(self, notification_id: str) -> list[dict[str, Any]]:
        page = await self.http.get(f"/v1/notifications/{notification_id}/deliveries", headers=self.headers)
        return list(page.json()["items"])

    async def metric(self, name: str, **labels: str) -> float:
        text = (await self.http.get("/metrics")).text
        return sum(
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == name
            and s.labels.get("app") == self.app_id
            and all(s.labels.get(k) == v for k, v in labels.items())
        )

    async def metric_reaches(self, value: float, name: str, **labels: str) -> None:
        deadline = time.monotonic() + 30
        while await self.metric(name, **labels) != value:  # counts are flushed every 2 s
            assert time.monotonic() < deadline, f"{name} {labels} never reached {value}"
            await asyncio.sleep(0.2)


async def open_shop(http: httpx.AsyncClient, simulator: ApnsSimulatorHandle) -> tuple[Shop, list[str]]:
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    created = (await http.post("/v1/apps", json={"name": "shop"}, headers=admin)).json()
    shop = Shop(http, created["id"], created["server_key"])
    provider = {
        "team_id": simulator.team_id,
        "key_id": simulator.key_id,
        "private_key": simulator.private_key_pem,
        "topic": simulator.topic,
        "environment": "development",
        "endpoint": simulator.endpoint,
        "ca_file": simulator.ca_file,
    }
    assert (
        await http.put(f"/v1/apps/{shop.app_id}/providers/apns", json=provider, headers=shop.headers)
    ).is_success
    ids = []
    for token in ("a1" * 32, "b2" * 32, "c3" * 32, "dead" + "d4" * 30):
        answer = await http.post(
            "/v1/devices", json={"platform": "ios", "token": token}, headers=shop.headers
        )
        ids.append(str(answer.json()["id"]))
    return shop, ids


async def test_dashboard_login_overview_live_update_and_replay(
    base_url: str, simulator: ApnsSimulatorHandle, chromium_path: str
) -> None:
    from playwright.async_api import async_playwright, expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        shop, devices = await open_shop(http, simulator)
        # one dead letter: APNs answers 503 to both attempts
        await simulator.aset_faults({"dead_token_prefix": "dead", "reasons": {"ServiceUnavailable": 1.0}})
        doomed = await shop.notify(devices[:1], "Doomed")
        await shop.settled(doomed)
        await simulator.aset_faults({"dead_token_prefix": "dead"})
        first = await shop.notify(devices, "Winter sale")
        await shop.settled(first)
        await shop.metric_reaches(3, "pushwise_deliveries_total", outcome="delivered")
        await shop.metric_reaches(2, "pushwise_deliveries_total", outcome="failed")

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{base_url}/dashboard")
                assert page.url.endswith("/dashboard/login")
                await page.fill("#key", "not-a-key")
                await page.click("#login")
                assert await page.locator(".error").is_visible()
                await page.fill("#key", shop.server_key)
                await page.click("#login")
                await page.wait_for_url(f"{base_url}/dashboard")
                cookie = next(c for c in await page.context.cookies() if c["name"] == "pushwise_session")
                assert cookie["httpOnly"]
                assert cookie["sameSite"] == "Strict"

                shown = {
                    name: await page.text_content(f'[data-metric="{name}"]')
                    for name in ("sent", "delivered", "failed", "retries", "pruned")
                }
                assert shown == {
                    "sent": str(int(await shop.metric("pushwise_attempts_total"))),
                    "delivered": str(
                        int(await shop.metric("pushwise_deliveries_total", outcome="delivered"))
                    ),
                    "failed": str(int(await shop.metric("pushwise_deliveries_total", outcome="failed"))),
                    "retries": str(int(await shop.metric("pushwise_retries_total"))),
                    "pruned": str(int(await shop.metric("pushwise_tokens_pruned_total"))),
                }
                assert shown["delivered"] == "3"
                assert shown["sent"] == "6"
                assert await page.locator("#chart svg rect.ok").count() >= 1
                await page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

                # a live update arrives without a reload
                await expect(page.locator("#live-status")).to_have_text(re.compile("^live"))
                await page.evaluate("() => { window.__notReloaded = true; }")
                await shop.settled(await shop.notify(devices[1:3], "Flash sale"))
                await expect(page.locator('[data-metric="delivered"]')).to_have_text("5", timeout=20_000)
                assert await page.evaluate("() => window.__notReloaded") is True
                await page.screenshot(path=str(ARTIFACTS / "overview-live.png"), full_page=True)

                # replay the 503 dead letter from the dashboard
                dead = (await shop.deliveries(doomed))[0]
                assert (dead["state"], dead["attempts"]) == ("failed", 2)
                await page.click("text=Dead letters")
                await page.wait_for_selector(f"#dead-{dead['id']}")
                await page.screenshot(path=str(ARTIFACTS / "dead-letters.png"), full_page=True)
                await page.click(f"#dead-{dead['id']} button.replay")
                await page.wait_for_selector("text=Queued again: 1")
                deadline = time.monotonic() + 20
                while (replayed := (await shop.deliveries(doomed))[0])["state"] != "delivered":
                    assert time.monotonic() < deadline, replayed
                    await asyncio.sleep(0.05)
                assert replayed["attempts"] == 3  # attempts kept: the replay is the third

                await page.goto(f"{base_url}/dashboard/notifications/{doomed}")
                trail = await page.text_content(f"#delivery-{dead['id']}")
                assert trail is not None
                assert "ServiceUnavailable" in trail
                assert "delivered" in trail
                await page.screenshot(path=str(ARTIFACTS / "trail.png"), full_page=True)

                # a form without the session's CSRF token is refused
                forged = await page.request.post(
                    f"{base_url}/dashboard/dead-letters/replay",
                    form={"app": shop.app_id, "delivery_ids": str(dead["id"]), "csrf": "forged"},
                )
                assert forged.status == 403
                for name in ("alerts", "health", "devices"):
                    await page.goto(f"{base_url}/dashboard/{name}")
                    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                assert "BadDeviceToken" in (await page.content()) or "Unregistered" in (await page.content())
            finally:
                await browser.close()
