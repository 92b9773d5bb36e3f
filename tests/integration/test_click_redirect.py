"""Clicks without an SDK: a Web Push link goes through `/r/...`, which records one `clicked` event
for the delivery and forwards; a link pushwise did not sign goes nowhere."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.delivery.service import WorkerService
from pushwise.domain.click_links import ClickLinks
from pushwise.domain.email_message import EmailEnvelope, render_email
from pushwise.domain.notification import Content
from pushwise.settings import Settings
from pushwise.simulators.webpush import WebPushSimulatorHandle, start_webpush_simulator
from pushwise.store.migrate import upgrade
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY, serve_app

pytestmark = pytest.mark.integration

TARGET = "https://shop.example/boots?colour=red"


@pytest.fixture(scope="module")
def webpush_sim() -> Iterator[WebPushSimulatorHandle]:
    with start_webpush_simulator(seed=3) as sim:
        yield sim


PUBLIC = "https://push.example"  # where users reach pushwise: links name it, the test calls its path


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'clicks.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        allow_private_endpoints=True,
        worker_poll_seconds=0.02,
        public_base_url=PUBLIC,
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(5))
    app = create_app(services, background=[WorkerService(services.engine.worker())])
    try:
        async with serve_app(app) as base_url:
            yield base_url
    finally:
        await services.close()


async def test_a_web_push_click_is_recorded_once_and_forwarded(
    live: str, webpush_sim: WebPushSimulatorHandle
) -> None:
    async with httpx.AsyncClient(base_url=live, timeout=10) as http:
        created = (
            await http.post(
                "/v1/apps", json={"name": "shop"}, headers={"authorization": f"Bearer {ADMIN_KEY}"}
            )
        ).json()
        headers = {"authorization": f"Bearer {created['server_key']}"}
        provider = await http.put(
            f"/v1/apps/{created['id']}/providers/webpush",
            json={"subject": "mailto:ops@shop.example"},
            headers=headers,
        )
        assert provider.status_code == 200, provider.text
        subscription = webpush_sim.new_subscription()
        device = await http.post(
            "/v1/devices",
            json={"platform": "web", "subscription": subscription, "user_id": "ana"},
            headers=headers,
        )
        assert device.status_code in (200, 201), device.text
        sent = await http.post(
            "/v1/notifications",
            json={"to": {"user_ids": ["ana"]}, "content": {"title": "Boots", "url": TARGET}},
            headers=headers,
        )
        notification_id = sent.json()["id"]
        deadline = time.monotonic() + 20
        while not webpush_sim.received(subscription["endpoint"]):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        payload = webpush_sim.received(subscription["endpoint"])[0]["payload"]
        # The device learns which push it got, to name it in its events.
        assert payload["data"]["pushwise_notification_id"] == notification_id
        assert isinstance(payload["data"]["pushwise_delivery_id"], int)
        link = payload["url"]
        assert link.startswith(f"{PUBLIC}/r/")
        link = link.removeprefix(PUBLIC)

        for _ in range(2):  # a double click is one click
            followed = await http.get(link, follow_redirects=False)
            assert (followed.status_code, followed.headers["location"]) == (302, TARGET)
        profile = (await http.get("/v1/users/ana", headers=headers)).json()
        assert profile["engagement"]["all"]["clicked"] == 1

        payload, _, mac = link.rpartition("/")[2].partition(".")
        forged = f"/r/{payload[:-2]}xx.{mac}"
        refused = await http.get(forged, follow_redirects=False)
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, "not_found")
        assert (await http.get(f"/v1/notifications/{notification_id}", headers=headers)).status_code == 200


def test_e_mail_links_go_through_the_redirect_and_show_the_real_address() -> None:
    links = ClickLinks(b"k" * 32, "https://push.example")
    link = links.wrap("app", 7, TARGET)
    envelope = EmailEnvelope("shop@example.com", "ana@example.com", "https://u", 0.0, "n.7", link=link)
    message = render_email(Content(title="Boots", url=TARGET), envelope)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="{link}"' in html
    assert ">https://shop.example/boots?colour=red<" in html.replace("&amp;", "&")
    assert links.open(link.rpartition("/")[2]).url == TARGET
    assert links.wrap("app", 7, "javascript:alert(1)") == "javascript:alert(1)"  # not a web link: untouched
