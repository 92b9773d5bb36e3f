"""Campaign analytics equal the raw rows they summarise: variants, the holdout and uplift, the costs
(unsubscribes, permission losses) and each day, per variant, in JSON and CSV.

The expected numbers are recomputed here in Python from the deliveries and the stored events,
by the definitions of docs/campaigns.md, and compared with what the API answers.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from pushwise.domain.content.analytics import difference, wilson
from pushwise.serving import campaign_service
from pushwise.store.schema import deliveries, notifications, user_events, users

pytestmark = pytest.mark.integration

DAY, WINDOW = 86_400.0, 7 * 86_400.0
GOALS = ("opened", "clicked", "converted")
SALE = {
    "locales": {"en": {"title": "Sale"}},
    "variants": [
        {"key": "a", "locales": {"en": {"title": "Sale A"}}},
        {"key": "b", "locales": {"en": {"title": "Sale B"}}},
    ],
}


async def drain(services) -> None:
    worker = services.engine.worker()
    while await worker.run_once():
        pass


async def sweep(services) -> None:
    await campaign_service(services).runner.sweep()
    await drain(services)


async def raw(services, campaign_id: str):
    """The campaign's deliveries and every stored event, with external user ids."""
    async with services.db.read.connect() as conn:
        names = dict((await conn.execute(select(users.c.id, users.c.external_id))).all())
        mine = select(notifications.c.id).where(notifications.c.campaign_id == campaign_id)
        sent = (await conn.execute(select(deliveries).where(deliveries.c.notification_id.in_(mine)))).all()
        events = (await conn.execute(select(user_events))).all()
    return names, sent, events


def expected_funnel(rows, events, names) -> dict:
    """An arm's funnel from its deliveries (not held out) and the events, by the documented rules."""
    sent = [r for r in rows if r.sent_at is not None]
    funnel: dict = {
        "users": len({r.user_id for r in rows}),
        "sent": len(sent),
        "delivered": sum(r.state == "delivered" for r in rows),
        "revenue": 0.0,
    }
    for goal in GOALS:
        hits = set()
        for r in rows:
            for e in events:
                answers = e.notification_id == r.notification_id and e.user_id == r.user_id
                if e.type == goal and answers and e.delivery_id in (None, r.id):
                    hits.add(r.id)
                    if goal == "converted":
                        funnel["revenue"] += e.value or 0.0
        funnel[goal] = len(hits)
    unsubscribed, lost = set(), set()
    for r in sent:
        for e in events:
            if e.user_id != r.user_id or not r.sent_at <= e.at < r.sent_at + WINDOW:
                continue
            if e.type == "unsubscribed" and e.notification_id == r.notification_id:
                unsubscribed.add(e.user_id)
            if e.type == "permission_changed" and (e.properties or {}).get("permission") == "denied":
                lost.add(e.user_id)
    funnel["unsubscribed"], funnel["permission_lost"] = len(unsubscribed), len(lost)
    delivered = funnel["delivered"]
    funnel["rates"] = {
        "delivered": delivered / funnel["sent"] if funnel["sent"] else 0.0,
        **{goal: funnel[goal] / delivered if delivered else 0.0 for goal in GOALS},
    }
    intervals = {"delivered": wilson(delivered, funnel["sent"])}
    intervals |= {goal: wilson(funnel[goal], delivered) for goal in GOALS}
    funnel["ci"] = {name: [e.low, e.high] for name, e in intervals.items()}
    return funnel


def window_conversions(rows, events) -> tuple[int, int, float]:
    """Users of an arm, those who converted or purchased within 7 days of their first notification,
    and the value of those events."""
    first: dict[str, float] = {}
    for r in rows:
        first[r.user_id] = min(first.get(r.user_id, r.accepted_at), r.accepted_at)
    counted = [
        e
        for e in events
        if e.type in ("converted", "purchased")
        and e.user_id in first
        and first[e.user_id] <= e.at < first[e.user_id] + WINDOW
    ]
    return len(first), len({e.user_id for e in counted}), sum(e.value or 0.0 for e in counted)


def same(found: dict, wanted: dict) -> None:
    for name, value in wanted.items():
        if isinstance(value, float):
            assert found[name] == pytest.approx(value), name
        elif name == "ci":
            for rate, (low, high) in value.items():
                assert found["ci"][rate] == [pytest.approx(low), pytest.approx(high)], rate
        elif name == "rates":
            assert found["rates"] == pytest.approx(value)
        else:
            assert found[name] == value, name


async def test_analytics_equal_the_raw_rows_per_variant_holdout_cost_and_day(
    client, make_app, services, clock
):
    shop = await make_app()
    people = [f"u{n:02d}" for n in range(40)]
    for user in people:
        await client.put(f"/v1/users/{user}", json={"timezone": "UTC"}, headers=shop.server_headers)
    await client.put("/v1/templates/sale", json=SALE, headers=shop.server_headers)
    notification = {
        "to": {"user_ids": people},
        "template": "sale",
        "variants": {"mode": "ab", "holdout_percent": 25},
        "fallback": {"channels": ["inbox"]},
    }
    answer = await client.post(
        "/v1/campaigns",
        json={"name": "daily", "notification": notification, "cron": "0 9 * * *", "timezone": "UTC"},
        headers=shop.server_headers,
    )
    assert answer.status_code == 201, answer.text
    campaign = answer.json()
    clock.set(datetime.fromisoformat(campaign["next_run_at"]).timestamp())
    posted = 0
    for day in range(2):
        await sweep(services)
        names, sent, _ = await raw(services, campaign["id"])
        today = [r for r in sent if r.sent_at is not None and r.sent_at >= clock.now() - 60]
        batch = []
        for n, r in enumerate(sorted(today, key=lambda r: r.id)):
            answer_of = {"user_id": names[r.user_id], "notification_id": r.notification_id}
            for goal, every in (("opened", 2), ("clicked", 3), ("converted", 4)):
                if n % every == day:
                    extra = {"value": 10.0 + n} if goal == "converted" else {}
                    batch.append({"type": goal, "delivery_id": r.id, **answer_of, **extra})
            if n % 7 == 1:
                batch.append({"type": "opened", **answer_of})  # twice, without a delivery: counted once
            if n % 9 == 2:
                batch.append({"type": "unsubscribed", "properties": {"channel": "push"}, **answer_of})
            if n % 11 == 3:
                batch.append(
                    {
                        "type": "permission_changed",
                        "user_id": names[r.user_id],
                        "properties": {"permission": "denied"},
                    }
                )
        held = [r for r in sent if r.state == "held_out" and r.accepted_at >= clock.now() - 60]
        for n, r in enumerate(sorted(held, key=lambda r: r.id)):
            if n % 2 == 0:
                batch.append({"type": "purchased", "user_id": names[r.user_id], "value": 30.0})
        for event in batch:
            posted += 1
            event["id"] = f"e{posted}"
        reply = await client.post("/v1/events", json={"events": batch}, headers=shop.server_headers)
        assert reply.status_code == 200, reply.text
        clock.advance(DAY)
    clock.advance(9 * DAY)  # outside every window: counts nothing
    late = {
        "id": "late",
        "type": "permission_changed",
        "user_id": people[0],
        "properties": {"permission": "denied"},
    }
    await client.post("/v1/events", json={"events": [late]}, headers=shop.server_headers)

    names, sent, events = await raw(services, campaign["id"])
    found = (
        await client.get(f"/v1/campaigns/{campaign['id']}/analytics", headers=shop.server_headers)
    ).json()
    pushed = [r for r in sent if r.state != "held_out"]
    arms = defaultdict(list)
    for r in pushed:
        arms[r.variant or "all"].append(r)
    assert sorted(arms) == ["a", "b"]
    assert [arm["key"] for arm in found["variants"]] == ["a", "b"]
    for arm in found["variants"]:
        same(arm, expected_funnel(arms[arm["key"]], events, names))
    assert sum(arm["sent"] for arm in found["variants"]) == len([r for r in pushed if r.sent_at])
    assert any(arm["unsubscribed"] for arm in found["variants"])
    assert any(arm["permission_lost"] for arm in found["variants"])

    held = [r for r in sent if r.state == "held_out"]
    held_users, held_converted, held_revenue = window_conversions(held, events)
    assert held_users > 0
    assert held_converted > 0
    assert (found["holdout"]["users"], found["holdout"]["converted"]) == (held_users, held_converted)
    assert found["holdout"]["revenue"] == pytest.approx(held_revenue)
    rates = {key: window_conversions(rows, events) for key, rows in arms.items()}
    best = max(sorted(rates), key=lambda key: rates[key][1] / max(1, rates[key][0]))
    wanted = difference(rates[best][1], rates[best][0], held_converted, held_users)
    assert wanted is not None
    uplift = found["uplift"]["converted"]
    assert uplift["value"] == pytest.approx(wanted.value)
    assert uplift["ci"] == [pytest.approx(wanted.low), pytest.approx(wanted.high)]
    assert uplift["p_value"] == pytest.approx(wanted.p_value)

    by_day = defaultdict(list)
    for r in pushed:
        if r.sent_at is not None:
            by_day[int(r.sent_at // DAY * DAY)].append(r)
    assert [day["day"] for day in found["days"]] == sorted(by_day)
    assert len(found["days"]) == 2
    for day in found["days"]:
        rows = by_day[day["day"]]
        same(day, {**expected_funnel(rows, events, names), "key": "total"})
        assert [arm["key"] for arm in day["variants"]] == ["a", "b"]
        for arm in day["variants"]:
            same(arm, expected_funnel([r for r in rows if r.variant == arm["key"]], events, names))
        assert sum(arm["sent"] for arm in day["variants"]) == day["sent"]

    table = (
        await client.get(
            f"/v1/campaigns/{campaign['id']}/analytics?format=csv&by=day", headers=shop.server_headers
        )
    ).text
    lines = list(csv.DictReader(io.StringIO(table)))
    assert [(line["day"], line["arm"]) for line in lines] == [
        (datetime.fromtimestamp(day["day"], UTC).date().isoformat(), arm)
        for day in found["days"]
        for arm in ("a", "b", "total")
    ]
    for line, arm in zip(lines, [a for day in found["days"] for a in [*day["variants"], day]], strict=True):
        assert (int(line["sent"]), int(line["opened"]), float(line["revenue"])) == (
            arm["sent"],
            arm["opened"],
            round(arm["revenue"], 2),
        )
        assert (int(line["unsubscribed"]), int(line["permission_lost"])) == (
            arm["unsubscribed"],
            arm["permission_lost"],
        )
    per_arm = (
        await client.get(f"/v1/campaigns/{campaign['id']}/analytics?format=csv", headers=shop.server_headers)
    ).text
    assert per_arm.splitlines()[0].startswith("arm,users,sent,delivered,opened")
    assert [line.split(",")[0] for line in per_arm.splitlines()[1:]] == ["a", "b", "holdout"]

    await client.post("/dashboard/login", data={"key": shop.server_key})
    page = await client.get(f"/dashboard/campaigns/{campaign['id']}")
    assert page.status_code == 200
    assert 'aria-label="sent and opened per day"' in page.text
    first = found["days"][0]
    for arm in [*first["variants"], first]:  # the per-day table: each variant, then the day's total
        date = datetime.fromtimestamp(first["day"], UTC).date().isoformat()
        row = f"<tr><td>{date}</td><td>{arm['key']}</td><td>{arm['sent']}</td><td>{arm['delivered']}</td>"
        assert row in page.text
