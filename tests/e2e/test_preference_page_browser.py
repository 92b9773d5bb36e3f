"""The hosted preference page in headless Chromium, against the real server with its workers:
a user unticks a category, and the next notification of it is suppressed with its reason.

JavaScript is switched off in the browser: the page must work without it. Screenshots go to
`test-artifacts/preferences/`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.delivery.service import WorkerService
from pushwise.settings import Settings
from pushwise.store.migrate import upgrade
from tests.e2e.test_dashboard_browser import CHROMIUM_ARGS
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY, serve_app

pytestmark = pytest.mark.integration
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "preferences"


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'prefs.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        allow_private_endpoints=True,
        worker_poll_seconds=0.05,
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(5))
    try:
        async with serve_app(
            create_app(services, background=[WorkerService(services.engine.worker())])
        ) as url:
            yield url
    finally:
        await services.close()


async def _settled(http: httpx.AsyncClient, headers: dict[str, str], notification_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        status = (await http.get(f"/v1/notifications/{notification_id}", headers=headers)).json()
        if status["status"] == "completed":
            page = await http.get(f"/v1/notifications/{notification_id}/deliveries", headers=headers)
            [delivery] = page.json()["items"]
            return dict(delivery)
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.05)


async def test_unticking_a_category_suppresses_its_next_notification(
    base_url: str, chromium_path: str
) -> None:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        admin = {"authorization": f"Bearer {ADMIN_KEY}"}
        created = (await http.post("/v1/apps", json={"name": "Boot Shop"}, headers=admin)).json()
        headers = {"authorization": f"Bearer {created['server_key']}"}
        categories = [
            {"key": "promotions", "name": "Promotions", "channels": ["inbox", "email"]},
            {"key": "orders", "name": "Orders", "channels": ["inbox", "email"]},
        ]
        await http.put(f"/v1/apps/{created['id']}/categories", json=categories, headers=headers)
        await http.put("/v1/users/ann", json={"email": "ann@example.com", "locale": "fr-FR"}, headers=headers)
        url = (await http.post("/v1/users/ann/preferences/link", headers=headers)).json()["url"]
        link = base_url + urlsplit(url).path  # the link names `public_base_url`; this server's port is free

        async def notify(category: str) -> dict[str, Any]:
            body = {
                "to": {"user_ids": ["ann"]},
                "content": {"title": "Soldes", "body": "Bottes"},
                "category": category,
                "fallback": {"channels": ["inbox"]},
            }
            sent = await http.post("/v1/notifications", json=body, headers=headers)
            return await _settled(http, headers, sent.json()["id"])

        assert (await notify("promotions"))["state"] == "delivered"

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(java_script_enabled=False)
                page = await context.new_page()
                await page.goto(link)
                assert await page.get_attribute("html", "lang") == "fr"
                assert await page.is_checked("#cell-promotions-inbox")
                await page.screenshot(path=str(ARTIFACTS / "before.png"), full_page=True)
                await page.uncheck("#cell-promotions-inbox")
                await page.click("#save")
                await page.wait_for_selector("#saved")
                assert not await page.is_checked("#cell-promotions-inbox")
                assert await page.is_checked("#cell-orders-inbox")
                await page.screenshot(path=str(ARTIFACTS / "saved.png"), full_page=True)
            finally:
                await browser.close()

        suppressed = await notify("promotions")
        assert suppressed["state"] == "suppressed"
        assert suppressed["last_error"]["reason"] == "opted_out:promotions"
        assert suppressed["attempts"] == 0
        assert (await notify("orders"))["state"] == "delivered"
        inbox = (await http.get("/v1/users/ann/inbox", headers=headers)).json()
        assert len(inbox["items"]) == 2  # the first promotion and the order, not the suppressed one
