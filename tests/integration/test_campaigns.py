"""Campaigns on a simulated clock: one-off, scheduled and recurring sends, the abandoned-cart journey
with its exit and re-entry, a runner killed mid-send, pausing, analytics equal to the raw events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from pushwise.campaigns.runner import CLAIM_SECONDS
from pushwise.domain.signed_tokens import issue_unsubscribe_token
from pushwise.serving import campaign_service
from pushwise.store.campaigns import due_runs
from pushwise.store.schema import journey_runs, notifications, users

pytestmark = pytest.mark.integration

HOUR, DAY = 3600.0, 86_400.0
REMINDER = {"content": {"title": "Still thinking about it?"}, "fallback": {"channels": ["inbox"]}}


async def drain(services) -> None:
    worker = services.engine.worker()
    while await worker.run_once():
        pass


async def sweep(services, runner=None) -> None:
    await (runner or campaign_service(services).runner).sweep()
    await drain(services)


async def inbox_titles(client, app, user: str) -> list[str]:
    items = (await client.get(f"/v1/users/{user}/inbox", headers=app.server_headers)).json()["items"]
    return [item["title"] for item in items]


async def create(client, app, body):
    answer = await client.post("/v1/campaigns", json=body, headers=app.server_headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def event(client, app, user: str, kind: str, key: str, **fields) -> None:
    body = {"events": [{"id": key, "type": kind, "user_id": user, **fields}]}
    assert (await client.post("/v1/events", json=body, headers=app.server_headers)).status_code == 200


async def test_one_off_scheduled_and_recurring_campaigns_send_on_time(client, make_app, services, clock):
    shop = await make_app()
    await client.put("/v1/users/ana", json={"timezone": "Europe/Berlin"}, headers=shop.server_headers)
    notification = {"to": {"user_ids": ["ana"]}, **REMINDER}
    await create(client, shop, {"name": "now", "notification": {**notification, "content": {"title": "Now"}}})
    later = datetime.fromtimestamp(clock.now() + 2 * HOUR, UTC).isoformat()
    await create(
        client,
        shop,
        {"name": "later", "notification": {**notification, "content": {"title": "Later"}, "send_at": later}},
    )
    weekly = await create(
        client,
        shop,
        {
            "name": "weekly",
            "notification": {**notification, "content": {"title": "Weekly"}},
            "cron": "0 9 * * 1",
            "timezone": "Europe/Berlin",
        },
    )
    assert weekly["kind"] == "recurring"
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == ["Now"]
    clock.advance(2 * HOUR)
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == ["Later", "Now"]
    for week in range(2):
        clock.set(
            datetime.fromisoformat(weekly["next_run_at"]).timestamp() if week == 0 else clock.now() + 7 * DAY
        )
        await sweep(services)
    assert (await inbox_titles(client, shop, "ana")).count("Weekly") == 2
    status = (await client.get(f"/v1/campaigns/{weekly['id']}", headers=shop.server_headers)).json()
    assert (status["runs"], status["status"]) == (2, "active")
    assert datetime.fromisoformat(status["next_run_at"]).astimezone(UTC).hour == 8  # 09:00 Berlin, winter


async def test_abandoned_cart_reminds_exits_on_purchase_and_respects_reentry(
    client, make_app, services, clock
):
    shop = await make_app()
    for user in ("ana", "ben"):
        await client.put(f"/v1/users/{user}", json={}, headers=shop.server_headers)
    second = {**REMINDER, "content": {"title": "Last call"}}
    journey = await create(
        client,
        shop,
        {"name": "carts", "recipe": "abandoned_cart", "notify": REMINDER, "second_notify": second},
    )
    assert journey["kind"] == "journey"
    await event(client, shop, "ana", "added_to_cart", "a1")
    await event(client, shop, "ben", "added_to_cart", "b1")
    await event(client, shop, "ben", "added_to_cart", "b2")  # already inside: no second run
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == []
    clock.advance(HOUR)
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == ["Still thinking about it?"]
    await event(client, shop, "ben", "purchased", "b3", value=20.0)  # ben leaves
    clock.advance(DAY)
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == ["Last call", "Still thinking about it?"]
    assert await inbox_titles(client, shop, "ben") == ["Still thinking about it?"]
    await event(client, shop, "ben", "added_to_cart", "b4")  # a day after entering: may come back in
    await sweep(services)
    async with services.db.read.connect() as conn:
        runs = (await conn.execute(select(journey_runs.c.user_id, journey_runs.c.state))).all()
    names = await conn_users(services)
    assert sorted((names[user], state) for user, state in runs) == sorted(
        [("ana", "done"), ("ben", "exited"), ("ben", "active")]
    )


async def test_journeys_exit_on_any_of_their_exit_events(client, make_app, services, clock):
    """`exit: {"events": [...]}`: an unsubscribe ends a run as a purchase does; one `event` still works."""
    shop = await make_app()
    for user in ("ana", "ben", "cy"):
        await client.put(f"/v1/users/{user}", json={}, headers=shop.server_headers)
    steps = [{"wait_seconds": HOUR}, {"notify": REMINDER}]
    await create(
        client,
        shop,
        {
            "name": "either",
            "trigger": {"event": "added_to_cart"},
            "steps": steps,
            "exit": {"events": ["purchased", "unsubscribed"]},
        },
    )
    await create(
        client,
        shop,
        {"name": "one", "trigger": {"event": "item_viewed"}, "steps": steps, "exit": {"event": "purchased"}},
    )
    for user in ("ana", "ben", "cy"):
        await event(client, shop, user, "added_to_cart", f"{user}-c")
        await event(client, shop, user, "item_viewed", f"{user}-v")
    await sweep(services)
    await event(client, shop, "ana", "unsubscribed", "a-u", properties={"channel": "email"})
    await event(client, shop, "ben", "purchased", "b-p", value=5.0)
    clock.advance(HOUR)
    await sweep(services)
    # "one" exits on a purchase only, so ana's unsubscribe ends "either" but not "one".
    assert await inbox_titles(client, shop, "ana") == ["Still thinking about it?"]
    assert await inbox_titles(client, shop, "ben") == []
    assert len(await inbox_titles(client, shop, "cy")) == 2
    async with services.db.read.connect() as conn:
        runs = (await conn.execute(select(journey_runs.c.user_id, journey_runs.c.state))).all()
    names = await conn_users(services)
    assert sorted((names[user], state) for user, state in runs) == [
        ("ana", "done"),
        ("ana", "exited"),
        ("ben", "exited"),
        ("ben", "exited"),
        ("cy", "done"),
        ("cy", "done"),
    ]


async def test_unsubscribing_through_pushwise_ends_the_journeys_that_exit_on_it(
    client, make_app, services, clock
):
    """The preferences API and the e-mail one-click link are `unsubscribed` exits too."""
    shop = await make_app()
    for user in ("ana", "ben", "cy"):
        await client.put(
            f"/v1/users/{user}", json={"email": f"{user}@example.com"}, headers=shop.server_headers
        )
    await create(client, shop, {"name": "carts", "recipe": "abandoned_cart", "notify": REMINDER})
    for user in ("ana", "ben", "cy"):
        await event(client, shop, user, "added_to_cart", f"{user}-c")
    await sweep(services)
    patched = await client.patch(
        "/v1/users/ana/preferences", json={"unsubscribed": ["webpush"]}, headers=shop.server_headers
    )
    assert patched.status_code == 200, patched.text
    names = {external: internal for internal, external in (await conn_users(services)).items()}
    token = issue_unsubscribe_token(services.secret_key, shop.id, names["ben"])
    assert (await client.post(f"/v1/unsubscribe/{token}")).status_code == 200
    clock.advance(HOUR)
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == []
    assert await inbox_titles(client, shop, "ben") == []
    assert await inbox_titles(client, shop, "cy") == ["Still thinking about it?"]
    async with services.db.read.connect() as conn:
        runs = (await conn.execute(select(journey_runs.c.user_id, journey_runs.c.state))).all()
    assert sorted((names_of, state) for names_of, state in runs) == sorted(
        [(names["ana"], "exited"), (names["ben"], "exited"), (names["cy"], "active")]
    )


async def test_a_catalogue_recipe_run_leaves_when_the_user_unsubscribes(client, make_app, services, clock):
    """new_arrival waits for the user's 10:00; an unsubscribe meanwhile ends the run unsent."""
    shop = await make_app()
    for user in ("ana", "ben"):
        await client.put(f"/v1/users/{user}", json={"timezone": "UTC"}, headers=shop.server_headers)
    template = {"locales": {"en": {"title": "New: {{ event.item.title }}"}}}
    await client.put("/v1/templates/news", json=template, headers=shop.server_headers)
    notify = {"template": "news", "fallback": {"channels": ["inbox"]}}
    await create(client, shop, {"name": "arrivals", "recipe": "new_arrival", "notify": notify})
    for user in ("ana", "ben"):
        await event(client, shop, user, "added_to_cart", f"{user}-c", category="shoes")
    clock.set(datetime(2026, 3, 2, 6, 0, tzinfo=UTC).timestamp())  # before 10:00 UTC
    sandals = {"id": "sandals", "title": "Sandals", "category": "shoes", "price": 30.0, "stock": 3}
    await client.put("/v1/catalog/items", json={"items": [sandals]}, headers=shop.server_headers)
    await sweep(services)
    await event(client, shop, "ana", "unsubscribed", "a-u", properties={"channel": "push"})
    clock.advance(DAY)
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == []
    assert await inbox_titles(client, shop, "ben") == ["New: Sandals"]
    async with services.db.read.connect() as conn:
        runs = (await conn.execute(select(journey_runs.c.user_id, journey_runs.c.state))).all()
    names = await conn_users(services)
    assert sorted((names[user], state) for user, state in runs) == [("ana", "exited"), ("ben", "done")]


async def test_reentry_waits_for_its_interval(client, make_app, services, clock):
    shop = await make_app()
    await client.put("/v1/users/ana", json={}, headers=shop.server_headers)
    await create(
        client,
        shop,
        {
            "name": "hello",
            "trigger": {"event": "app_open"},
            "steps": [{"notify": REMINDER}],
            "reentry_seconds": DAY,
        },
    )
    await event(client, shop, "ana", "app_open", "o1")
    await sweep(services)
    clock.advance(HOUR)
    await event(client, shop, "ana", "app_open", "o2")  # done, but within a day of entering
    await sweep(services)
    clock.advance(DAY)
    await event(client, shop, "ana", "app_open", "o3")
    await sweep(services)
    assert len(await inbox_titles(client, shop, "ana")) == 2


async def conn_users(services) -> dict[str, str]:
    async with services.db.read.connect() as conn:
        return {
            row.id: row.external_id for row in await conn.execute(select(users.c.id, users.c.external_id))
        }


async def test_a_runner_killed_after_sending_does_not_send_twice(client, make_app, services, clock):
    shop = await make_app()
    await client.put("/v1/users/ana", json={}, headers=shop.server_headers)
    await create(
        client,
        shop,
        {"name": "welcome", "trigger": {"event": "app_open"}, "steps": [{"notify": REMINDER}]},
    )
    await event(client, shop, "ana", "app_open", "o1")
    runner = campaign_service(services).runner
    now = clock.now()
    runs = await services.db.query(lambda conn: due_runs(conn, now, 10))
    plan = await runner._plan(runs, now)  # the runner decides to send ...
    claimed = await runner._claim(plan, now)
    (campaign_id, _), group = next(iter(claimed.items()))
    await runner._sender.send(
        group[0][0].app_id, campaign_id, group[0][1].body, group[0][0].claim, user_ids=["ana"]
    )
    # ... and dies before it records that it did. Past the claim, a new runner takes over.
    clock.advance(CLAIM_SECONDS + 1)
    await sweep(services)
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == ["Still thinking about it?"]
    async with services.db.read.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(notifications)) == 1


async def test_a_paused_journey_holds_its_runs_and_resumes(client, make_app, services, clock):
    shop = await make_app()
    await client.put("/v1/users/ana", json={}, headers=shop.server_headers)
    journey = await create(
        client,
        shop,
        {
            "name": "j",
            "trigger": {"event": "app_open"},
            "steps": [{"wait_seconds": 60}, {"notify": REMINDER}],
        },
    )
    await event(client, shop, "ana", "app_open", "o1")
    await sweep(services)
    paused = await client.post(f"/v1/campaigns/{journey['id']}/pause", headers=shop.server_headers)
    assert paused.json()["status"] == "paused"
    clock.advance(120)
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == []
    await client.post(f"/v1/campaigns/{journey['id']}/resume", headers=shop.server_headers)
    await sweep(services)
    assert await inbox_titles(client, shop, "ana") == ["Still thinking about it?"]


async def test_analytics_count_what_the_events_say(client, make_app, services):
    shop = await make_app()
    users = [f"u{n}" for n in range(6)]
    for user in users:
        await client.put(f"/v1/users/{user}", json={}, headers=shop.server_headers)
    campaign = await create(
        client, shop, {"name": "sale", "notification": {"to": {"user_ids": users}, **REMINDER}}
    )
    await sweep(services)
    deliveries = (
        await client.get(f"/v1/campaigns/{campaign['id']}/deliveries", headers=shop.server_headers)
    ).json()
    by_user = {item["user_id"]: item for item in deliveries["items"]}
    assert set(by_user) == set(users)
    notification = by_user["u0"]["notification_id"]
    for n, kind in enumerate(["opened", "opened", "opened", "clicked", "converted"]):
        extra = {"value": 25.0} if kind == "converted" else {}
        await event(client, shop, users[n % 3], kind, f"e{n}", notification_id=notification, **extra)
    found = (
        await client.get(f"/v1/campaigns/{campaign['id']}/analytics", headers=shop.server_headers)
    ).json()
    [arm] = found["variants"]
    assert (arm["sent"], arm["delivered"], arm["opened"], arm["clicked"], arm["converted"]) == (6, 6, 3, 1, 1)
    assert arm["revenue"] == 25.0
    assert arm["rates"]["opened"] == 0.5
    low, high = arm["ci"]["opened"]
    assert low < 0.5 < high
    csv = (
        await client.get(f"/v1/campaigns/{campaign['id']}/analytics?format=csv", headers=shop.server_headers)
    ).text
    assert csv.splitlines()[0].startswith("arm,users,sent,delivered,opened")
    await client.post("/dashboard/login", data={"key": shop.server_key})
    page = await client.get(f"/dashboard/campaigns/{campaign['id']}")
    assert page.status_code == 200
    assert 'aria-label="funnel per arm"' in page.text
    row = "<td>all</td><td>6</td><td>6</td><td>6</td>\n<td>3</td><td>1</td><td>1</td><td>25.00</td>"
    assert row in page.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, None),
        (
            {"name": "x", "trigger": {"event": "app_open"}, "steps": [{"notify": {"to": {"all": True}}}]},
            "steps[0].notify",
        ),
        (
            {"name": "x", "trigger": {"event": "app_open"}, "steps": [{"notify": {"content": {}}}]},
            "steps[0].notify",
        ),
        (
            {
                "name": "x",
                "notification": {"to": {"all": True}, "content": {"title": "t"}},
                "cron": "*/5 * * * *",
                "timezone": "user",
            },
            "cron",
        ),
        ({"name": "x", "recipe": "abandoned_cart"}, "notify"),
        (
            {
                "name": "x",
                "trigger": {"event": "app_open"},
                "steps": [{"notify": REMINDER}],
                "exit": {"events": ["purchased", 7]},
            },
            "exit.events[1]",
        ),
        (
            {"name": "x", "recipe": "abandoned_cart", "notify": REMINDER, "exit": {"events": []}},
            "exit.events",
        ),
    ],
)
async def test_bad_campaigns_are_refused_with_the_path(client, make_app, body, field):
    shop = await make_app()
    answer = await client.post("/v1/campaigns", json=body, headers=shop.server_headers)
    assert answer.status_code == 422
    if field is not None:
        assert answer.json()["error"]["field"].startswith(field)


async def test_catalogue_recipes_reach_the_users_the_change_is_news_to(client, make_app, services, clock):
    shop = await make_app()
    for user in ("ana", "ben", "cy"):
        await client.put(f"/v1/users/{user}", json={"timezone": "UTC"}, headers=shop.server_headers)
    notify = {"template": "item-news", "fallback": {"channels": ["inbox"]}}
    template = {"locales": {"en": {"title": "{{ event.type }}: {{ event.item.title }}"}}}
    await client.put("/v1/templates/item-news", json=template, headers=shop.server_headers)
    for recipe in ("back_in_stock", "price_drop", "new_arrival"):
        await create(
            client, shop, {"name": recipe, "recipe": recipe, "notify": notify, "local_time": "00:00"}
        )
    boots = {"id": "boots", "title": "Boots", "category": "shoes", "price": 90.0, "stock": 0}
    await client.put("/v1/catalog/items", json={"items": [boots]}, headers=shop.server_headers)
    await event(client, shop, "ana", "item_viewed", "v1", properties={"item_id": "boots"})
    await event(client, shop, "ben", "added_to_cart", "c1", properties={"item_id": "boots"})
    await event(client, shop, "ben", "purchased", "p1", properties={"item_id": "boots"})
    await event(client, shop, "cy", "purchased", "p2", category="shoes", value=10.0)  # likes shoes
    await event(client, shop, "cy", "added_to_cart", "c2", category="shoes")
    restocked = {**boots, "stock": 5, "price": 70.0}
    await client.put("/v1/catalog/items", json={"items": [restocked]}, headers=shop.server_headers)
    sandals = {"id": "sandals", "title": "Sandals", "category": "shoes", "price": 30.0, "stock": 3}
    await client.put("/v1/catalog/items", json={"items": [sandals]}, headers=shop.server_headers)
    await sweep(services)  # new arrivals wait for the user's own midnight ("local_time": "00:00")
    clock.advance(DAY)
    await sweep(services)
    # ana viewed the boots: back in stock and cheaper; ben bought them: nothing; cy loves shoes: sandals.
    assert sorted(await inbox_titles(client, shop, "ana")) == ["back_in_stock: Boots", "price_drop: Boots"]
    assert await inbox_titles(client, shop, "ben") == []
    assert await inbox_titles(client, shop, "cy") == ["new_arrival: Sandals"]


async def test_win_back_finds_users_who_went_quiet(client, make_app, services, clock):
    shop = await make_app()
    for user in ("gone", "here"):
        await client.put(f"/v1/users/{user}", json={"timezone": "UTC"}, headers=shop.server_headers)
    await create(
        client,
        shop,
        {
            "name": "miss you",
            "recipe": "win_back",
            "inactive_days": 3,
            "local_time": "18:00",
            "notify": {**REMINDER, "content": {"title": "We miss you"}},
        },
    )
    await event(client, shop, "gone", "app_open", "g1")
    await event(client, shop, "here", "app_open", "h1")
    for day in range(4):
        clock.advance(DAY)
        await event(client, shop, "here", "app_open", f"h{day + 2}")
        await sweep(services)
    clock.advance(DAY)
    await sweep(services)
    assert await inbox_titles(client, shop, "gone") == ["We miss you"]
    assert await inbox_titles(client, shop, "here") == []
