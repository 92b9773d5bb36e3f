"""Export and erase of one user's data, on both engines.

The user gets a bit of everything (profile, devices, preferences, events, deliveries, inbox,
a failure notice, fallback steps, an experiment arm, pending receipts, the gate's ledger and a
digest of pushes worded for them, a campaign's holdout arm, a journey run, send-hour
histograms, feedback), beside a bystander in the same app and a namesake in another app.
The scenario checks it really reached each of those tables. After the erase, every table of
`schema.metadata` is read whole and no row may still name the user (by id, contact, token,
or the nickname only the words rendered for them hold): a table added later is checked
without anyone listing it here.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.domain.clock import ManualClock
from pushwise.domain.gate.batch import Effects
from pushwise.domain.gate.model import SentPush, device_subject
from pushwise.serving import campaign_service
from pushwise.settings import Settings
from pushwise.store.gate_ledger import write_effects
from pushwise.store.schema import deliveries, metadata, notifications
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY, TenantApp, serve_app
from tests.integration.pg_databases import fresh_store

pytestmark = pytest.mark.integration

VICTIM, BYSTANDER = "erase-me-7qz", "stays-put-3kd"
EMAIL, PHONE = "erase-me-7qz@example.com", "+4915112345678"
NICKNAME = "Zorblax-7qz"  # in the victim's attributes, so in every text rendered for them alone
IOS_TOKEN = "e7" * 32
WEB_ENDPOINT = "https://push.example/erase-me-7qz-subscription"
WEB_KEYS = {
    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
    "auth": "tBHItJI5svbpez7KI4CCXg",
}


@dataclass
class Stack:
    http: httpx.AsyncClient
    services: Services
    clock: ManualClock

    async def app(self, name: str) -> TenantApp:
        admin = {"authorization": f"Bearer {ADMIN_KEY}"}
        body = (await self.http.post("/v1/apps", json={"name": name}, headers=admin)).json()
        return TenantApp(body["id"], body["name"], body["server_key"], body["client_key"])


@pytest.fixture(params=["sqlite", "postgresql"])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        settings = Settings(
            database_url=url, admin_key=ADMIN_KEY, secret_key=SECRET_KEY, allow_private_endpoints=True
        )
        clock = ManualClock()
        services = build_services(settings, clock=clock, rng=random.Random(10))
        try:
            async with (
                serve_app(create_app(services)) as base_url,
                httpx.AsyncClient(base_url=base_url, timeout=10) as http,
            ):
                yield Stack(http, services, clock)
        finally:
            await services.close()


async def _ok(answer: httpx.Response) -> Any:
    assert answer.is_success, answer.text
    return answer.json() if answer.content else None


async def _give_a_bit_of_everything(stack: Stack, app: TenantApp) -> dict[str, str]:
    http, headers = stack.http, app.server_headers
    await _ok(
        await http.put(
            f"/v1/users/{VICTIM}",
            json={"email": EMAIL, "phone": PHONE, "attributes": {"nick": NICKNAME}},
            headers=headers,
        )
    )
    await _ok(await http.put(f"/v1/users/{BYSTANDER}", json={"email": "b@example.com"}, headers=headers))
    await _ok(
        await http.put(
            f"/v1/apps/{app.id}/categories", json=[{"key": "deals", "name": "Deals"}], headers=headers
        )
    )
    await _ok(
        await http.patch(
            f"/v1/users/{VICTIM}/preferences",
            json={
                "categories": {"deals": {"email": False}},
                "unsubscribed": ["email"],
                "quiet_hours": {"start": "22:00", "end": "07:00"},
            },
            headers=headers,
        )
    )
    ios = await _ok(
        await http.post(
            "/v1/devices", json={"platform": "ios", "token": IOS_TOKEN, "user_id": VICTIM}, headers=headers
        )
    )
    web = await _ok(
        await http.post(
            "/v1/devices",
            json={
                "platform": "web",
                "token": WEB_ENDPOINT,
                "user_id": VICTIM,
                "subscription": {"endpoint": WEB_ENDPOINT, "keys": WEB_KEYS},
            },
            headers=headers,
        )
    )
    await _ok(
        await http.post(
            "/v1/devices", json={"platform": "ios", "token": "b0" * 32, "user_id": BYSTANDER}, headers=headers
        )
    )
    await _ok(
        await http.put(
            f"/v1/apps/{app.id}/receipts",
            json={
                "url": "http://127.0.0.1:9/r",
                "secret": "s" * 32,
                "events": ["delivered", "failed", "suppressed"],
            },
            headers=headers,
        )
    )
    # Push to both: no provider is configured, so the pushes fail and fall back to the inbox.
    sent = await _ok(
        await http.post(
            "/v1/notifications",
            json={
                "to": {"user_ids": [VICTIM, BYSTANDER]},
                "content": {"title": "Hi", "body": "Boots"},
                "category": "deals",
                "fallback": {"channels": ["inbox"]},
            },
            headers=headers,
        )
    )
    worker = stack.services.engine.worker()
    while await worker.run_once():
        pass
    await _ok(
        await http.post(
            "/v1/events",
            json={
                "events": [
                    {"id": "ev-1", "type": "opened", "user_id": VICTIM, "notification_id": sent["id"]},
                    {
                        "id": "ev-2",
                        "type": "item_viewed",
                        "user_id": VICTIM,
                        "category": "boots",
                        "properties": {"item": "b-42"},
                    },
                    {"id": "ev-3", "type": "item_viewed", "user_id": BYSTANDER, "category": "hats"},
                ]
            },
            headers=headers,
        )
    )
    experiment = await _ok(
        await http.post(
            "/v1/experiments", json={"name": "promo", "arms": ["a", "b"], "control": "b"}, headers=headers
        )
    )
    await _ok(
        await http.post(
            f"/v1/experiments/{experiment['id']}/assignments",
            json={
                "assignments": [
                    {"user_id": VICTIM, "arm": "a", "at": "2026-12-01T00:00:00Z"},
                    {"user_id": BYSTANDER, "arm": "b", "at": "2026-12-01T00:00:00Z"},
                ]
            },
            headers=headers,
        )
    )
    await _through_the_gate_and_campaigns(stack, app)
    # Notifications turned off on both of the victim's devices: the failure notice follows.
    for device in (ios, web):
        await _ok(
            await http.patch(
                f"/v1/devices/{device['id']}", json={"push_permission": "denied"}, headers=headers
            )
        )
    while await worker.run_once():
        pass
    inbox = await _ok(await http.get(f"/v1/users/{VICTIM}/inbox", headers=headers))
    [notice] = [item for item in inbox["items"] if "answer" in item["data"]]
    answer_path = urlsplit(notice["data"]["answer"]["url"]).path
    await _ok(await http.post(answer_path, json={"answer": "too_many"}))
    return {"notification": sent["id"], "ios": ios["id"], "web": web["id"]}


async def _through_the_gate_and_campaigns(stack: Stack, app: TenantApp) -> None:
    """Caps and digests on: three pushes worded for the victim (the third merged into the second's
    digest, its words kept for the digest), a campaign with a holdout, a journey left waiting,
    and feedback on a push."""
    http, headers = stack.http, app.server_headers
    await _ok(
        await http.put(
            f"/v1/apps/{app.id}/policy",
            json={"caps": [{"window_seconds": 86_400, "max": 50}], "digest": {"window_seconds": 3600}},
            headers=headers,
        )
    )
    greeting = {"title": "Hi {{ user.attributes.nick }}", "body": "Boots for {{ user.attributes.nick }}"}
    await _ok(await http.put("/v1/templates/greet", json={"locales": {"en": greeting}}, headers=headers))
    worded = {"template": "greet", "fallback": {"channels": ["inbox"]}}
    pushes = [
        await _ok(
            await http.post(
                "/v1/notifications", json={"to": {"user_ids": [VICTIM]}, **worded}, headers=headers
            )
        )
        for _ in range(3)
    ]
    worker = stack.services.engine.worker()
    while await worker.run_once():
        pass
    stack.clock.advance(3601)  # the digest window closes: its carrier goes out with the merged part
    while await worker.run_once():
        pass
    await _ok(
        await http.post(
            "/v1/campaigns",
            json={
                "name": "promo",
                "notification": {"to": {"user_ids": [VICTIM, BYSTANDER]}, "holdout_percent": 50, **worded},
            },
            headers=headers,
        )
    )
    await _ok(
        await http.post(
            "/v1/campaigns",
            json={
                "name": "cart",
                "trigger": {"event": "added_to_cart"},
                "steps": [{"wait_seconds": 86_400}, {"notify": worded}],
            },
            headers=headers,
        )
    )
    feedback = ("clicked", "not_interested", "too_many")
    events = [
        {"id": f"fb-{kind}", "type": kind, "user_id": VICTIM, "notification_id": pushes[0]["id"]}
        for kind in feedback
    ]
    events.append({"id": "cart-1", "type": "added_to_cart", "user_id": VICTIM, "category": "boots"})
    await _ok(await http.post("/v1/events", json={"events": events}, headers=headers))
    await campaign_service(stack.services).runner.sweep()
    while await worker.run_once():
        pass
    await stack.services.audience_upkeep.recorder.flush()


async def _identifiers(stack: Stack, app: TenantApp, ids: dict[str, str]) -> list[str]:
    profile = await _ok(await stack.http.get(f"/v1/users/{VICTIM}", headers=app.server_headers))
    return [profile["id"], VICTIM, EMAIL, PHONE, NICKNAME, IOS_TOKEN, WEB_ENDPOINT, ids["ios"], ids["web"]]


async def _rows_naming(services: Services, needles: list[str]) -> dict[str, int]:
    """Per table, the rows in which any column holds or contains one of `needles`."""
    found: dict[str, int] = {}
    async with services.db.read.connect() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(select(table)):
                if any(_names(value, needles) for value in row):
                    found[table.name] = found.get(table.name, 0) + 1
    return found


def _names(value: Any, needles: list[str]) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return False
    if isinstance(value, bytes):
        return any(needle.encode() in value for needle in needles)
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return any(needle in text for needle in needles)


async def test_erase_leaves_no_row_naming_the_user_in_any_table(stack: Stack) -> None:
    app, other = await stack.app("shop"), await stack.app("other shop")
    await _ok(
        await stack.http.put(f"/v1/users/{VICTIM}", json={"email": EMAIL}, headers=other.server_headers)
    )
    ids = await _give_a_bit_of_everything(stack, app)
    needles = await _identifiers(stack, app, ids)

    before = await _rows_naming(stack.services, needles)
    for table in (
        "users",
        "devices",
        "deliveries",
        "inbox_items",
        "user_events",
        "user_interests",
        "user_engagement",
        "user_preferences",
        "channel_unsubscribes",
        "failure_notices",
        "fallback_steps",
        "experiment_assignments",
        "notifications",
        "receipt_outbox",
        "notice_answers",
        "gate_sends",
        "gate_digests",
        "gate_digest_parts",
        "journey_runs",
        "user_send_hours",
        "campaigns",
    ):
        assert before.get(table), f"the scenario should put the user in {table}: {before}"
    async with stack.services.db.read.connect() as conn:
        deliveries_before = await conn.scalar(select(func.count()).select_from(deliveries))
        notifications_before = await conn.scalar(select(func.count()).select_from(notifications))
    counts_before = await _ok(
        await stack.http.get(f"/v1/notifications/{ids['notification']}", headers=app.server_headers)
    )

    exported = await _ok(await stack.http.get(f"/v1/users/{VICTIM}/data", headers=app.server_headers))
    assert exported["profile"]["email"] == EMAIL
    assert {d["id"] for d in exported["profile"]["devices"]} == {ids["ios"], ids["web"]}
    assert exported["profile"]["preferences"]["unsubscribed"] == ["email"]
    assert {e["id"] for e in exported["events"]} == {
        "ev-1",
        "ev-2",
        "fb-clicked",
        "fb-not_interested",
        "fb-too_many",
        "cart-1",
    }
    assert exported["deliveries"]
    assert all(d["notification_id"] for d in exported["deliveries"])
    assert exported["inbox"]
    # Every table holding the user's own rows is in the export (what names them without being theirs
    # is the app's record: notifications and campaigns addressed to them, receipts about them).
    assert set(before) - {"notifications", "campaigns", "receipt_outbox"} <= set(exported["tables"])

    erased = await _ok(await stack.http.delete(f"/v1/users/{VICTIM}/data", headers=app.server_headers))
    assert erased["deleted"]["users"] == 1
    assert erased["anonymised"]["deliveries"] >= 2
    assert erased["deleted"]["gate_digest_parts"] >= 1
    assert erased["anonymised"]["campaigns"] == 1
    # Sends counted before the erase but written after it must not bring the user back.
    await stack.services.audience_upkeep.recorder.flush()

    # The one row left naming them is the namesake's, another person in another app.
    assert await _rows_naming(stack.services, needles) == {"users": 1}
    namesake = await _ok(await stack.http.get(f"/v1/users/{VICTIM}", headers=other.server_headers))
    assert namesake["email"] == EMAIL

    async with stack.services.db.read.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(deliveries)) == deliveries_before
        assert await conn.scalar(select(func.count()).select_from(notifications)) == notifications_before
        target = await conn.scalar(
            select(notifications.c.target).where(notifications.c.id == ids["notification"])
        )
    assert target["user_ids"] == [BYSTANDER]
    campaigns = await _ok(await stack.http.get("/v1/campaigns", headers=app.server_headers))
    [campaign] = [c for c in campaigns if c["name"] == "promo"]
    assert campaign["definition"]["notification"]["to"] == {"user_ids": [BYSTANDER]}
    counts_after = await _ok(
        await stack.http.get(f"/v1/notifications/{ids['notification']}", headers=app.server_headers)
    )
    assert counts_after["counts"] == counts_before["counts"]

    bystander = await _ok(await stack.http.get(f"/v1/users/{BYSTANDER}", headers=app.server_headers))
    assert len(bystander["devices"]) == 1
    assert bystander["interests"]
    kept = await _ok(await stack.http.get(f"/v1/users/{BYSTANDER}/data", headers=app.server_headers))
    assert (len(kept["deliveries"]) > 0, len(kept["inbox"]) > 0, len(kept["events"])) == (True, True, 1)

    assert (await stack.http.get(f"/v1/users/{VICTIM}/data", headers=app.server_headers)).status_code == 404
    assert (
        await stack.http.delete(f"/v1/users/{VICTIM}/data", headers=app.server_headers)
    ).status_code == 404


async def test_erase_takes_the_gate_rows_of_a_device_registered_before_its_user(stack: Stack) -> None:
    """The gate keys a device without a user as `device:<id>`; once the device is the user's, those
    rows are the user's too: exported, and erased with them."""
    app = await stack.app("shop")
    headers = app.server_headers
    device = {"platform": "ios", "token": IOS_TOKEN}
    anonymous = (await _ok(await stack.http.post("/v1/devices", json=device, headers=headers)))["id"]
    # What the gate writes for a push it lets through to that device (sent: the slot stays).
    push = SentPush(delivery_id=1, notification_id="ntf_before_sign_in", at=stack.clock.now(), channel="apns")
    sends = [(app.id, device_subject(anonymous), push)]
    await stack.services.db.transact(lambda conn: write_effects(conn, Effects(sends=sends), push.at, {}))
    await _ok(await stack.http.post("/v1/devices", json={**device, "user_id": VICTIM}, headers=headers))

    exported = await _ok(await stack.http.get(f"/v1/users/{VICTIM}/data", headers=headers))
    assert [row["user_id"] for row in exported["tables"]["gate_sends"]] == [f"device:{anonymous}"]
    erased = await _ok(await stack.http.delete(f"/v1/users/{VICTIM}/data", headers=headers))
    assert erased["deleted"]["gate_sends"] == 1
    assert await _rows_naming(stack.services, [anonymous, IOS_TOKEN, VICTIM]) == {}


async def test_another_apps_key_can_neither_export_nor_erase(stack: Stack) -> None:
    app, other = await stack.app("shop"), await stack.app("other")
    await _ok(await stack.http.put(f"/v1/users/{VICTIM}", json={"email": EMAIL}, headers=app.server_headers))
    for method in ("GET", "DELETE"):
        for headers in (other.server_headers, app.client_headers, {"authorization": f"Bearer {ADMIN_KEY}"}):
            answer = await stack.http.request(method, f"/v1/users/{VICTIM}/data", headers=headers)
            assert answer.status_code in (403, 404), (method, answer.text)
            assert EMAIL not in answer.text
    profile = await _ok(await stack.http.get(f"/v1/users/{VICTIM}", headers=app.server_headers))
    assert profile["email"] == EMAIL
