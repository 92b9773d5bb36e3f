"""The gate over HTTP: the policy with its defaults, refusals naming their field, categories'
quiet hours, and `POST /v1/gate/explain` agreeing with what the engine then does, for every reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from pushwise.bootstrap import Services
from pushwise.domain.clock import ManualClock

pytestmark = pytest.mark.integration


async def test_the_policy_shows_every_default_and_null_switches_a_part_off(client, make_app) -> None:
    app = await make_app()
    path = f"/v1/apps/{app.id}/policy"
    shown = (await client.get(path, headers=app.server_headers)).json()
    assert shown["caps"] == []
    assert shown["quiet_hours"] is None
    assert shown["fatigue"] is None
    assert shown["digest"] is None
    assert shown["min_gap_seconds"] == 0
    assert shown["default_timezone"] == "UTC"
    assert shown["android_routes"] == ["vendor", "fcm"]
    assert shown["vendor_quotas"]["vivo"] == {"marketing_per_device_day": 2, "marketing_hours": "07:00-23:00"}
    assert shown["send_time"] == {"prior_strength": 5.0, "spread_minutes": 20}
    wanted = {
        "caps": [
            {"window_seconds": 86400, "max": 3},
            {"window_seconds": 3600, "max": 1, "category": "deals"},
        ],
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "fatigue": {},
        "digest": {"window_seconds": 1800},
        "vendor_quotas": {"xiaomi": {"marketing_per_device_day": 8}, "vivo": {"marketing_hours": None}},
    }
    answer = await client.put(path, json=wanted, headers=app.server_headers)
    assert answer.status_code == 200, answer.text
    shown = (await client.get(path, headers=app.server_headers)).json()
    assert shown["caps"][1] == {
        "window_seconds": 3600,
        "max": 1,
        "category": "deals",
        "channel": None,
        "per_campaign": False,
    }
    assert shown["quiet_hours"] == {"start": "21:00", "end": "08:00", "spread_minutes": 30}
    assert shown["fatigue"]["budget"] == 4.0
    assert shown["fatigue"]["half_life_hours"] == 48.0
    assert shown["digest"] == {
        "window_seconds": 1800,
        "max_priority": "normal",
        "category": None,
        "template": None,
    }
    assert shown["vendor_quotas"]["xiaomi"]["marketing_per_device_day"] == 8
    assert shown["vendor_quotas"]["vivo"] == {"marketing_per_device_day": 2, "marketing_hours": None}
    await client.put(path, json={"fatigue": None, "quiet_hours": None}, headers=app.server_headers)
    shown = (await client.get(path, headers=app.server_headers)).json()
    assert (shown["fatigue"], shown["quiet_hours"], shown["caps"]) == (None, None, [])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"caps": [{"window_seconds": 86400}]}, "caps[0].max"),
        ({"caps": [{"window_seconds": 10, "max": 1}]}, "caps[0].window_seconds"),
        ({"caps": [{"window_seconds": 3600, "max": 1, "channel": "sms"}]}, "caps[0].channel"),
        ({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "08:00", "end": "08:00"}}, "quiet_hours"),
        ({"default_timezone": "Mars/Olympus"}, "default_timezone"),
        ({"fatigue": {"budget": 0}}, "fatigue.budget"),
        ({"digest": {"max_priority": "transactional"}}, "digest.max_priority"),
        ({"vendor_quotas": {"nokia": {}}}, "vendor_quotas.nokia.[key]"),
        ({"vendor_quotas": {"vivo": {"marketing_hours": "7-23"}}}, "vendor_quotas.vivo.marketing_hours"),
        ({"max_per_minute": {"apns": -1}}, "max_per_minute.apns"),
        ({"cap_scope": "device"}, "cap_scope"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_bad_policy_is_refused_with_its_field_and_nothing_stored(
    client, make_app, body, field
) -> None:
    app = await make_app()
    path = f"/v1/apps/{app.id}/policy"
    await client.put(path, json={"caps": [{"window_seconds": 600, "max": 2}]}, headers=app.server_headers)
    answer = await client.put(path, json=body, headers=app.server_headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    assert (await client.get(path, headers=app.server_headers)).json()["caps"][0]["max"] == 2


async def test_a_category_may_have_its_own_quiet_hours_or_none(client, make_app) -> None:
    app = await make_app()
    path = f"/v1/apps/{app.id}/categories"
    categories = [
        {"key": "news", "name": "News", "quiet_hours": None},
        {"key": "shipping", "name": "Shipping", "quiet_hours_transactional": True},
        {"key": "deals", "name": "Deals", "quiet_hours": {"start": "20:00", "end": "10:00"}},
    ]
    assert (await client.put(path, json=categories, headers=app.server_headers)).status_code == 200
    shown = {c["key"]: c for c in (await client.get(path, headers=app.server_headers)).json()}
    assert shown["news"]["quiet_hours"] is None
    assert (shown["shipping"]["quiet_hours"], shown["shipping"]["quiet_hours_transactional"]) == ("app", True)
    assert shown["deals"]["quiet_hours"] == {"start": "20:00", "end": "10:00"}


class Scene:
    """One app and its user, reached through the inbox (no provider to set up), and a worker."""

    def __init__(self, client: httpx.AsyncClient, services: Services, app: Any) -> None:
        self.client, self.services, self.app = client, services, app
        self.worker = services.engine.worker()

    async def setup(self, user: str = "ann", **profile: Any) -> None:
        answer = await self.client.put(f"/v1/users/{user}", json=profile, headers=self.app.server_headers)
        assert answer.status_code in (200, 201), answer.text

    async def put(self, path: str, body: Any) -> None:
        answer = await self.client.put(
            f"/v1/apps/{self.app.id}/{path}", json=body, headers=self.app.server_headers
        )
        assert answer.status_code == 200, answer.text

    async def explain(self, notification: dict[str, Any], user: str = "ann") -> dict[str, Any]:
        body = {"user_id": user, "notification": {"fallback": {"channels": ["inbox"]}, **notification}}
        answer = await self.client.post("/v1/gate/explain", json=body, headers=self.app.server_headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def send(self, notification: dict[str, Any], user: str = "ann") -> dict[str, Any]:
        body = {"to": {"user_ids": [user]}, "fallback": {"channels": ["inbox"]}, **notification}
        answer = await self.client.post("/v1/notifications", json=body, headers=self.app.server_headers)
        assert answer.status_code == 202, answer.text
        while await self.worker.run_once():
            pass
        page = await self.client.get(
            f"/v1/notifications/{answer.json()['id']}/deliveries", headers=self.app.server_headers
        )
        [delivery] = page.json()["items"]
        return {**delivery, "notification_id": answer.json()["id"]}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


STATE_OF = {
    "send": "delivered",
    "defer": "deferred",
    "suppress": "suppressed",
    "hold_out": "held_out",
    "merge": "digested",
}
PUSH = {"content": {"title": "Sale", "body": "Half price"}}


async def _agree(scene: Scene, notification: dict[str, Any], user: str = "ann") -> dict[str, Any]:
    """Explain, then send: the delivery ends as explained, with the same reason and time."""
    explained = await scene.explain(notification, user)
    delivery = await scene.send(notification, user)
    assert delivery["state"] == STATE_OF[explained["decision"]], (explained, delivery)
    assert delivery["reason"] == explained["reason"], (explained, delivery)
    assert delivery["deferred_until"] == explained["until"], (explained, delivery)
    decided = [step for step in explained["steps"] if step["result"] not in ("pass", "not_reached")]
    assert len(decided) == (0 if explained["decision"] == "send" else 1)
    return explained


async def test_explain_agrees_with_what_the_engine_then_does_for_every_reason(
    client, make_app, services: Services, clock: ManualClock
) -> None:
    async def scene(**profile: Any) -> Scene:
        made = Scene(client, services, await make_app())
        await made.setup(**profile)
        return made

    seen: set[str | None] = set()

    async def check(made: Scene, notification: dict[str, Any], user: str = "ann") -> dict[str, Any]:
        explained = await _agree(made, notification, user)
        seen.add(explained["reason"])
        return explained

    plain = await scene()
    assert (await check(plain, PUSH))["decision"] == "send"

    prefs = await scene()
    await prefs.put(
        "categories",
        [
            {"key": "promotions", "name": "P", "default": False},
            {"key": "mail", "name": "M", "channels": ["email"]},
        ],
    )
    await check(prefs, {**PUSH, "category": "promotions"})
    await check(prefs, {**PUSH, "category": "mail"})
    await client.patch(
        "/v1/users/ann/preferences", json={"unsubscribed": ["inbox"]}, headers=prefs.app.server_headers
    )
    await check(prefs, PUSH)

    held = await scene()
    await check(held, {**PUSH, "holdout_percent": 100})

    repeats = await scene()
    await repeats.put("policy", {"duplicate_window_seconds": 3600})
    await repeats.send(PUSH)
    await check(repeats, PUSH)

    digests = await scene()
    await digests.put("policy", {"digest": {"window_seconds": 3600}})
    await digests.send({"content": {"title": "One"}})
    await check(digests, {"content": {"title": "Two"}})
    assert (await check(digests, {"content": {"title": "Three"}}))["decision"] == "merge"

    quiet = await scene(timezone="UTC")  # the clock stands at 08:00 UTC
    await quiet.put("policy", {"quiet_hours": {"start": "07:00", "end": "09:00", "spread_minutes": 20}})
    await check(quiet, PUSH)
    assert (await check(quiet, {**PUSH, "ttl_seconds": 600}))["decision"] == "suppress"  # would expire first

    gap = await scene()
    await gap.put("policy", {"min_gap_seconds": 600, "caps": [{"window_seconds": 86400, "max": 2}]})
    await gap.send({"content": {"title": "first"}})
    await check(gap, {"content": {"title": "second"}})
    clock.advance(700)
    await gap.send({"content": {"title": "third"}})
    clock.advance(700)
    await check(gap, {"content": {"title": "fourth"}})
    await check(gap, {"content": {"title": "fifth"}, "on_cap": "suppress"})

    tired = await scene()
    await tired.put("policy", {"fatigue": {"budget": 1.5}})
    await tired.send({"content": {"title": "first"}})
    await check(tired, {"content": {"title": "second"}})

    vendor = await scene()
    await vendor.put("policy", {"vendor_quotas": {"huawei": {"marketing_per_device_day": 0}}})
    token = {"platform": "android", "vendor": "huawei", "token": "huawei-token-" + "1" * 20, "user_id": "hua"}
    await client.put("/v1/users/hua", json={}, headers=vendor.app.server_headers)
    assert (
        await client.post("/v1/devices", json=token, headers=vendor.app.server_headers)
    ).status_code == 201
    await check(vendor, PUSH, user="hua")

    paced = await scene()
    await paced.setup("bob")
    await paced.put("policy", {"max_per_minute": {"inbox": 1}})
    await paced.send(PUSH)
    await check(paced, PUSH, user="bob")

    timed = await scene(timezone="UTC")
    opens = [
        {
            "id": f"o{day}",
            "type": "opened",
            "user_id": "ann",
            "at": _iso(clock.now() - day * 86400 + 5 * 3600),
        }
        for day in range(1, 6)
    ]
    answer = await client.post("/v1/events", json={"events": opens}, headers=timed.app.server_headers)
    assert answer.json()["accepted"] == 5, answer.text
    explained = await check(timed, {**PUSH, "send_at": {"optimize": True, "within_hours": 24}})
    assert explained["until"].startswith(_iso(clock.now() + 5 * 3600)[:13])  # 13:00 UTC, their habit

    holiday = await scene(timezone="Europe/Berlin", location={"country": "DE"})
    today = datetime.fromtimestamp(clock.now(), UTC).astimezone(ZoneInfo("Europe/Berlin")).strftime("%m-%d")
    await check(holiday, {**PUSH, "calendar": [{"on": {"dates": [today]}, "then": {"suppress": True}}]})
    windowed = await scene(timezone="Asia/Shanghai", location={"country": "CN"})
    now_in_shanghai = datetime.fromtimestamp(clock.now(), UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    closed = {
        "start": f"{(now_in_shanghai.hour + 2) % 24:02d}:00",
        "end": f"{(now_in_shanghai.hour + 3) % 24:02d}:00",
    }
    explained = await check(
        windowed, {**PUSH, "calendar": [{"on": {"season": "winter"}, "then": {"send_window": closed}}]}
    )
    assert explained["reason"] == ("calendar:winter" if now_in_shanghai.month in (12, 1, 2) else None)

    assert seen >= {
        None,
        f"calendar:{today}",
        "opted_out:promotions",
        "category_channels:mail",
        "unsubscribed:inbox",
        "holdout",
        "duplicate",
        "digest",
        "quiet_hours",
        "min_gap",
        "cap:86400",
        "fatigue",
        "vendor_quota:huawei",
        "rate:inbox",
        "send_time",
    }


async def test_explain_refuses_what_it_cannot_answer(client, make_app) -> None:
    app = await make_app()
    headers = app.server_headers
    await client.put("/v1/users/ann", json={}, headers=headers)
    cases = [
        ({"user_id": "nobody", "notification": PUSH}, 404, "user_id"),
        ({"user_id": "ann", "notification": {"content": {}}}, 422, "notification"),
        ({"user_id": "ann", "notification": {**PUSH, "priority": "urgent"}}, 422, "notification.priority"),
        ({"user_id": "ann", "notification": {"template": "missing"}}, 422, "notification.template"),
        ({"user_id": "ann", "notification": PUSH, "device_id": "dev_nope"}, 404, "device_id"),
        ({"user_id": "ann", "notification": PUSH, "at": "yesterday"}, 422, "at"),
    ]
    for body, status, field in cases:
        answer = await client.post("/v1/gate/explain", json=body, headers=headers)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]["field"] == field, (body, answer.text)
    inbox_only = (
        await client.post("/v1/gate/explain", json={"user_id": "ann", "notification": PUSH}, headers=headers)
    ).json()
    assert (inbox_only["channel"], inbox_only["device_id"], inbox_only["decision"]) == ("inbox", None, "send")
    assert [step["check"] for step in inbox_only["steps"]][-1] == "rate"


async def test_deliveries_show_why_and_until_when_and_counts_include_the_gates_states(
    client, make_app, services: Services
) -> None:
    scene = Scene(client, services, await make_app())
    await scene.setup()
    await scene.put("policy", {"caps": [{"window_seconds": 86400, "max": 1}]})
    await scene.send(PUSH)
    waiting = await scene.send({"content": {"title": "later"}})
    assert (waiting["state"], waiting["reason"], waiting["attempts"]) == ("deferred", "cap:86400", 0)
    assert waiting["deferred_until"] == datetime.fromtimestamp(
        services.clock.now() + 86400, UTC
    ).isoformat().replace("+00:00", "Z")
    status = (
        await client.get(f"/v1/notifications/{waiting['notification_id']}", headers=scene.app.server_headers)
    ).json()
    assert status["counts"]["deferred"] == 1
    assert status["status"] == "sending"
    held = await scene.send({**PUSH, "holdout_percent": 100})
    status = (
        await client.get(f"/v1/notifications/{held['notification_id']}", headers=scene.app.server_headers)
    ).json()
    assert status["counts"]["held_out"] == 1
    assert status["status"] == "completed"


async def test_the_dashboard_shows_each_decision_and_why_for_any_delivery(
    client, make_app, services: Services
) -> None:
    scene = Scene(client, services, await make_app())
    await scene.setup()
    await scene.put("policy", {"caps": [{"window_seconds": 86400, "max": 1}]})
    sent = await scene.send(PUSH)
    waiting = await scene.send({"content": {"title": "later"}})
    assert (await client.post("/dashboard/login", data={"key": scene.app.server_key})).status_code == 303
    trail = (await client.get(f"/dashboard/notifications/{waiting['notification_id']}")).text
    assert "gate: defer" in trail
    assert "cap:86400" in trail
    why = await client.get(
        f"/dashboard/notifications/{waiting['notification_id']}/deliveries/{waiting['id']}/why"
    )
    assert why.status_code == 200
    assert "<td>caps</td><td>defer</td><td>cap:86400" in why.text
    assert "<td>preferences</td><td>pass</td>" in why.text
    delivered = await client.get(
        f"/dashboard/notifications/{sent['notification_id']}/deliveries/{sent['id']}/why"
    )
    assert "this notification already counts" in delivered.text
    other = await client.get(
        f"/dashboard/notifications/{sent['notification_id']}/deliveries/{int(waiting['id']) + 99}/why"
    )
    assert other.status_code == 404
