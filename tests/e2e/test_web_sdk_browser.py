"""The Web SDK in headless Chromium against the real server, its workers and the Web Push simulator.

A test page served by the same server loads `/sdk/pushwise.js`, registers a service worker that
imports `/sdk/pushwise-sw.js`, subscribes and registers the device with the client key and a user
token; pushwise then sends real notifications, encrypted (RFC 8291 aes128gcm) and VAPID-signed,
to the simulated push service, which decrypts them. The decrypted payload is delivered to the
real service worker with the DevTools protocol (`ServiceWorker.deliverPushMessage`), the
notifications it shows are read back from the browser, and the events it posts are read from
the server. The inbox widget is checked live on the SSE stream.

What stands in for what, and why:
- Chromium's `pushManager.subscribe` needs Google's push service (GCM/FCM), which is neither
  reachable here nor configurable to another server, so the page's `PushManager.subscribe` is
  replaced (an init script) by one that answers with a subscription of the simulator, whose keys
  the simulator holds. The SDK's own call (userVisibleOnly, the app's VAPID key) is asserted.
- A browser decrypts a push before its service worker sees it; `deliverPushMessage` enters at
  that point, so the simulator's decryption is the browser's step, and what it decrypted is
  exactly what the service worker gets.
- Nothing in the DevTools protocol clicks or closes a notification, so the test's service worker
  (the app's, which imports the SDK's) hands the real shown Notification to the SDK's click and
  close handlers on a message from the page, as the browser's events would.

Screenshots go to `test-artifacts/web-sdk/`.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import HTMLResponse, Response

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.delivery.service import WorkerService
from pushwise.settings import Settings
from pushwise.simulators.handle import free_port
from pushwise.simulators.webpush import WebPushSimulatorHandle, start_webpush_simulator
from pushwise.store.migrate import upgrade
from tests.e2e.test_dashboard_browser import CHROMIUM_ARGS
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY, serve_app

pytestmark = pytest.mark.integration
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web-sdk"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Boot Shop</title></head>
<body>
<h1>Boot Shop</h1>
<div id="inbox"></div>
<script type="module">
import { Pushwise } from "/sdk/pushwise.js";
import { mountInbox } from "/sdk/pushwise-inbox.js";
window.workerMessages = [];
navigator.serviceWorker.addEventListener("message", (e) => window.workerMessages.push(e.data));
window.Pushwise = Pushwise;
window.mountInbox = mountInbox;
window.sdkLoaded = true;
</script>
</body></html>
"""

# The app's own service worker: the SDK's, plus a hook standing in for a user's click or close.
WORKER = """
importScripts("/sdk/pushwise-sw.js");
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  const test = e.data || {};
  if (test.type !== "test:user") return;
  e.waitUntil(self.registration.getNotifications().then((shown) => {
    const n = shown.find((one) => one.data.pushwise.deliveryId === test.deliveryId);
    const worker = self.pushwise.worker;
    const done = test.does === "close" ? worker.onClose(n)
      : test.does === "resubscribe" ? worker.onSubscriptionChange(null, { toJSON: () => test.subscription })
      : worker.onClick(n, test.action || "");
    const reply = (error) => e.source.postMessage({ type: "test:done", deliveryId: test.deliveryId, error });
    return done.then(() => reply(null), (error) => reply(String(error)));
  }));
});
"""

# Chromium cannot subscribe without Google's push service: answer with the simulator's subscription.
FAKE_SUBSCRIBE = """
(() => {
  const subscription = %s;
  let current = null;
  PushManager.prototype.subscribe = async function (options) {
    window.subscribeCalls = (window.subscribeCalls || []).concat([{
      userVisibleOnly: options.userVisibleOnly,
      applicationServerKey: Array.from(new Uint8Array(options.applicationServerKey)),
    }]);
    current = {
      endpoint: subscription.endpoint,
      options: {
        userVisibleOnly: true,
        applicationServerKey: new Uint8Array(options.applicationServerKey).buffer,
      },
      toJSON: () => subscription,
      unsubscribe: async () => { current = null; return true; },
    };
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


@pytest.fixture(scope="module")
def push_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebPushSimulatorHandle]:
    with start_webpush_simulator(seed=4, workdir=str(tmp_path_factory.mktemp("webpush"))) as sim:
        yield sim


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()  # known before the server is built: click links name it (public_base_url)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'websdk.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        allow_private_endpoints=True,
        public_base_url=f"http://127.0.0.1:{port}",
        worker_poll_seconds=0.05,
        inbox_poll_seconds=0.2,
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(11))
    app = create_app(services, background=[WorkerService(services.engine.worker())])
    app.add_api_route("/shop/page.html", lambda: HTMLResponse(PAGE), include_in_schema=False)
    app.add_api_route(
        "/shop/sw.js",
        lambda: Response(WORKER, media_type="text/javascript"),
        include_in_schema=False,
    )
    app.add_api_route("/shop/landing", lambda: HTMLResponse("<h1>landed</h1>"), include_in_schema=False)
    serving = serve_app(app, port=port)
    try:
        yield await serving.__aenter__()
    finally:
        # Bounded: a shutdown that hangs fails here with every task's stack, never holds the run.
        try:
            await _within(SHUTDOWN_SECONDS, serving.__aexit__(None, None, None), "the server to stop")
        finally:
            await _within(SHUTDOWN_SECONDS, services.close(), "the services to close")


SHUTDOWN_SECONDS = 60.0


async def _within(seconds: float, step: Any, what: str) -> None:
    try:
        await asyncio.wait_for(step, seconds)
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        raise AssertionError(f"timed out waiting for {what}; tasks:\n{stacks.getvalue()}") from None


async def _until(check: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


class Shop:
    """The app's backend: server key calls."""

    def __init__(self, http: httpx.AsyncClient, created: dict[str, Any]) -> None:
        self.http = http
        self.app_id = created["id"]
        self.client_key = created["client_key"]
        self.headers = {"authorization": f"Bearer {created['server_key']}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self.http.request(method, path, headers=self.headers, **kwargs)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    async def notify(self, body: dict[str, Any]) -> dict[str, Any]:
        sent = await self.call("POST", "/v1/notifications", json={"to": {"user_ids": ["ann"]}, **body})

        async def settled() -> dict[str, Any] | None:
            status = await self.call("GET", f"/v1/notifications/{sent['id']}")
            if status["status"] != "completed":
                return None
            page = await self.call("GET", f"/v1/notifications/{sent['id']}/deliveries")
            return {**page["items"][0], "notification_id": sent["id"]}

        return dict(await _until(settled, "the notification to settle"))

    async def events(self) -> list[dict[str, Any]]:
        export = await self.call("GET", "/v1/users/ann/data")
        return [{**e, "delivery_id": int(e["delivery_id"] or 0)} for e in export["events"]]


async def test_the_web_sdk_subscribes_shows_pushes_reports_events_and_follows_the_inbox(
    base_url: str, chromium_path: str, push_service: WebPushSimulatorHandle
) -> None:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        admin = {"authorization": f"Bearer {ADMIN_KEY}"}
        shop = Shop(http, (await http.post("/v1/apps", json={"name": "Boot Shop"}, headers=admin)).json())
        vapid = (
            await shop.call(
                "PUT",
                f"/v1/apps/{shop.app_id}/providers/webpush",
                json={"subject": "mailto:ops@shop.example"},
            )
        )["vapid_public_key"]
        await shop.call("PUT", "/v1/users/ann", json={"timezone": "Europe/Paris"})
        token = (await shop.call("POST", "/v1/users/ann/token", json={"ttl_seconds": 3600}))["user_token"]
        # the simulator refuses pushes signed with any other VAPID key (403)
        subscription = push_service.new_subscription(vapid)

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context()
                await context.grant_permissions(["notifications"], origin=base_url)
                await context.add_init_script(FAKE_SUBSCRIBE % json.dumps(subscription))
                page = await context.new_page()
                await page.goto(f"{base_url}/shop/page.html")
                await page.wait_for_function("window.sdkLoaded === true")
                config = {"baseUrl": base_url, "clientKey": shop.client_key, "userToken": token}

                # -- the inbox widget, live: an in-app message arrives while the page is open
                await page.evaluate(
                    """async (config) => {
                        window.pw = new Pushwise({...config, serviceWorker: "/shop/sw.js"});
                        window.inbox = await window.pw.inbox().start();
                        mountInbox(document.querySelector("#inbox"), window.inbox);
                    }""",
                    config,
                )
                assert await page.text_content(".pushwise-empty") == "No messages"
                inboxed = await shop.notify(
                    {
                        "content": {"title": "Welcome", "body": "10% off boots"},
                        "fallback": {"channels": ["inbox"]},
                    }
                )
                assert inboxed["channel"] == "inbox"
                await page.wait_for_selector(".pushwise-item.pushwise-unread")
                assert await page.text_content(".pushwise-badge") == "1"
                assert await page.text_content(".pushwise-item strong") == "Welcome"
                await page.screenshot(path=str(ARTIFACTS / "inbox-unread.png"), full_page=True)
                await page.click(".pushwise-mark-read")
                await page.wait_for_selector(".pushwise-item:not(.pushwise-unread)")
                assert await page.is_hidden(".pushwise-badge")
                inbox = await shop.call("GET", "/v1/users/ann/inbox")
                assert inbox["unread_count"] == 0
                assert inbox["items"][0]["read"] is True

                # -- permission and subscription, when the app asks
                permission = await page.evaluate("window.pw.requestPermission()")
                assert permission == "granted"
                [call] = await page.evaluate("window.subscribeCalls")
                assert call["userVisibleOnly"] is True
                assert bytes(call["applicationServerKey"]) == _b64url(vapid)
                device_id = await page.evaluate("window.pw.device.id")
                user = await shop.call("GET", "/v1/users/ann")
                [device] = [d for d in user["devices"] if d["id"] == device_id]
                assert device["platform"] == "web"
                assert device["active"] is True

                # -- three pushes through pushwise and the push service, into the real service worker
                cdp = await context.new_cdp_session(page)
                registrations: list[dict[str, Any]] = []
                cdp.on(
                    "ServiceWorker.workerRegistrationUpdated",
                    lambda e: registrations.extend(e["registrations"]),
                )
                await cdp.send("ServiceWorker.enable")
                registration_id = (
                    await _until(
                        lambda: _found(registrations, f"{base_url}/shop/"), "the service worker registration"
                    )
                )["registrationId"]
                content = {
                    "title": "Your boots shipped",
                    "body": "Arriving Tuesday",
                    "url": f"{base_url}/shop/landing",
                    "image": f"{base_url}/shop/boots.jpg",
                    "data": {"order": "A-17"},
                }
                webpush = {
                    "icon": f"{base_url}/shop/icon.png",
                    "actions": [
                        {"action": "track", "title": "Track", "url": f"{base_url}/shop/landing?track"},
                        {"action": "later", "title": "Later"},
                    ],
                }
                deliveries = [await shop.notify({"content": content, "webpush": webpush}) for _ in range(3)]
                assert [d["state"] for d in deliveries] == ["delivered"] * 3
                received = push_service.received(subscription["endpoint"])
                assert len(received) == 3
                assert all(r["decrypt_error"] is None for r in received)  # RFC 8291, as a browser would
                for push in received:
                    await cdp.send(
                        "ServiceWorker.deliverPushMessage",
                        {"origin": base_url, "registrationId": registration_id, "data": push["plaintext"]},
                    )

                async def all_shown() -> list[dict[str, Any]] | None:
                    shown: list[dict[str, Any]] = await page.evaluate(
                        """navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) =>
                            ns.map((n) => ({
                                title: n.title, body: n.body, icon: n.icon, image: n.image, data: n.data,
                                actions: n.actions.map((a) => ({action: a.action, title: a.title})),
                            })))"""
                    )
                    return shown if len(shown) == 3 else None

                shown = await _until(all_shown, "three notifications shown")
                ids = sorted(n["data"]["pushwise"]["deliveryId"] for n in shown)
                assert ids == sorted(int(d["id"]) for d in deliveries)
                for notification in shown:
                    assert notification["title"] == "Your boots shipped"
                    assert notification["body"] == "Arriving Tuesday"
                    assert notification["icon"] == f"{base_url}/shop/icon.png"
                    assert notification["image"] == f"{base_url}/shop/boots.jpg"
                    assert notification["actions"] == [
                        {"action": "track", "title": "Track"},
                        {"action": "later", "title": "Later"},
                    ]
                    assert notification["data"]["data"]["order"] == "A-17"
                    assert notification["data"]["pushwise"]["url"].startswith(f"{base_url}/r/")
                shown_messages = await page.evaluate(
                    "window.workerMessages.filter((m) => m.type === 'pushwise:shown').length"
                )
                assert shown_messages == 3

                # -- the user acts: opens the first, taps "track" on the second, dismisses the third
                first, second, third = (int(d["id"]) for d in deliveries)
                for act in (
                    {"deliveryId": first, "does": "click"},
                    {"deliveryId": second, "does": "click", "action": "track"},
                    {"deliveryId": third, "does": "close"},
                ):
                    await _in_worker(page, act)
                # the browser opens a window only in a real notificationclick: follow the tapped
                # notification's link as that window would (pushwise's click redirect)
                [link] = [
                    n["data"]["pushwise"]["url"]
                    for n in shown
                    if n["data"]["pushwise"]["deliveryId"] == first
                ]
                landing = await context.new_page()
                await landing.goto(link)
                assert landing.url == f"{base_url}/shop/landing"
                await landing.screenshot(path=str(ARTIFACTS / "landing.png"))

                def summary(events: list[dict[str, Any]]) -> set[tuple[str, int, str]]:
                    return {
                        (
                            e["type"],
                            e["delivery_id"],
                            e["properties"].get("via", "") + e["properties"].get("action", ""),
                        )
                        for e in events
                        if e["delivery_id"] in (first, second, third)
                    }

                expected = {
                    ("delivered", first, ""),
                    ("delivered", second, ""),
                    ("delivered", third, ""),
                    ("opened", first, ""),
                    ("clicked", first, "redirect"),  # recorded by the redirect, not posted twice
                    ("clicked", second, "sdktrack"),
                    ("dismissed", third, ""),
                }

                seen: set[tuple[str, int, str]] = set()

                async def all_events() -> bool:
                    seen.clear()
                    seen.update(summary(await shop.events()))
                    return seen == expected

                try:
                    await _until(all_events, "the events the service worker reports")
                except AssertionError as timed_out:
                    raise AssertionError(f"events seen: {sorted(seen)}") from timed_out
                # -- the next visit: sync() registers the same subscription again, asking nothing
                await page.reload()
                await page.wait_for_function("window.sdkLoaded === true")
                synced = await page.evaluate(
                    """async (config) => {
                        window.pw = new Pushwise({...config, serviceWorker: "/shop/sw.js"});
                        return (await window.pw.sync()).id;
                    }""",
                    config,
                )
                assert synced == device_id

                # -- the browser replaces the subscription (pushsubscriptionchange): the worker registers
                # the new one from what it keeps in IndexedDB and removes the old device
                replacement = push_service.new_subscription(vapid)
                await _in_worker(page, {"deliveryId": 0, "does": "resubscribe", "subscription": replacement})
                moved = await shop.call("GET", "/v1/users/ann")
                [renewed] = [d for d in moved["devices"] if d["token"] == replacement["endpoint"]]
                assert renewed["active"] is True
                assert device_id not in {d["id"] for d in moved["devices"]}
                assert await page.evaluate("window.pw.knownDeviceId") == renewed["id"]
                assert (await shop.notify({"content": {"title": "Still here"}}))["state"] == "delivered"
                assert push_service.received(replacement["endpoint"])[0]["payload"]["title"] == "Still here"

                # the SDK's events name the notification too (pushwise_notification_id in the payload)
                by_delivery = {int(d["id"]): d["notification_id"] for d in deliveries}
                for event in await shop.events():
                    if event["delivery_id"] in by_delivery and event["properties"].get("via") != "redirect":
                        assert event["notification_id"] == by_delivery[event["delivery_id"]], event
            finally:
                await browser.close()


def _b64url(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def _found(registrations: list[dict[str, Any]], scope: str) -> dict[str, Any] | None:
    return next((r for r in registrations if r["scopeURL"] == scope and not r["isDeleted"]), None)


async def _in_worker(page: Any, act: dict[str, Any]) -> None:
    """Ask the test's worker to act as the browser would (click, close, resubscribe); wait for it."""
    error = await asyncio.wait_for(
        page.evaluate(
            """(act) => new Promise((resolve) => {
                const done = (e) => {
                    if (e.data.type === "test:done" && e.data.deliveryId === act.deliveryId) {
                        navigator.serviceWorker.removeEventListener("message", done);
                        resolve(e.data.error);
                    }
                };
                navigator.serviceWorker.addEventListener("message", done);
                navigator.serviceWorker.ready.then((r) => r.active.postMessage({type: "test:user", ...act}));
            })""",
            act,
        ),
        30,
    )
    assert error is None, error
