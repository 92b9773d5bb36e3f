"""One run of the study: a population, a strategy and a seed, through D simulated days.

The engine is the real one, built in-process (`build_services`) on a `ManualClock`, with its
HTTP API mounted in-process too: the shop configures its app, registers users and devices,
sends notifications and posts its users' events through the same routes a real shop would
(`POST /v1/events` in batches of 1,000), and the worker sends to the provider simulators.

Each simulated hour: the strategy's notifications due this hour are sent, the worker drains (in
what is due, the pushes that reached a device (deliveries the provider accepted) go to
`model.react`, and every event whose time has come is posted. Pushwise learns only from
those events. The counters of the summary come from what the model did and what the engine
recorded, never from the model's hidden state.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import and_, func, select

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.delivery.worker import DeliveryWorker
from pushwise.domain.audience.event_types import ACTIVITY_EVENTS, NOTIFICATION_EVENTS
from pushwise.domain.clock import ManualClock
from pushwise.population.builtin_model import CATEGORIES, ITEMS_PER_CATEGORY
from pushwise.population.contract import (
    DISABLE_PUSH,
    UNINSTALL,
    PopulationModel,
    SeenPush,
    SimEvent,
    SimUser,
)
from pushwise.population.strategies import Strategy
from pushwise.population.world import Simulators
from pushwise.settings import Settings
from pushwise.store import migrate
from pushwise.store.schema import deliveries, users

START = datetime(2026, 9, 7, tzinfo=UTC)  # a Monday
HOUR = 3600.0
DAY = 86_400.0
RETAINED_DAYS = 14  # retained: installed and active (an app event) within the last 14 days
BATCH = 1000
WORKERS = 3
POST_EVERY_HOURS = 6  # organic events are posted four times a day (and whenever pushes were answered)
TEMPLATE = {
    "locales": {
        "en": {
            "title": "For you: {{ item.title }}",
            "body": "{{ item.price | money(item.currency) }} in {{ item.category }}",
        }
    }
}
PUSH_CHANNELS = ("apns", "fcm", "huawei", "honor", "xiaomi", "oppo", "vivo")


@dataclass
class Tally:
    """What one run counted, day by day where the report plots it."""

    opened: int = 0
    clicked: int = 0
    conversions: int = 0
    push_conversions: int = 0
    revenue: float = 0.0
    push_revenue: float = 0.0
    events_posted: int = 0
    opt_outs: set[str] = field(default_factory=set)
    uninstalls: set[str] = field(default_factory=set)
    last_active: dict[str, float] = field(default_factory=dict)
    retention_curve: list[float] = field(default_factory=list)
    daily: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class Run:
    """A run in progress: the engine, the app, the population and what has been counted."""

    services: Services
    clock: ManualClock
    http: httpx.AsyncClient
    headers: dict[str, str]
    app_id: str
    strategy: Strategy
    sims: Simulators
    model: PopulationModel
    people: dict[str, SimUser]
    tokens: dict[str, str]
    rng: random.Random
    tally: Tally
    vendor_tokens: dict[str, str] = field(default_factory=dict)  # external id -> phone maker's token
    internal: dict[str, str] = field(default_factory=dict)  # internal user id -> external id
    shown: dict[str, tuple[str, str, str | None, dict[str, Any]]] = field(default_factory=dict)
    recent: list[tuple[float, str]] = field(default_factory=list)  # (created, notification id)
    pending: list[tuple[str, SimEvent, SeenPush | None]] = field(default_factory=list)
    dead: set[str] = field(default_factory=set)
    dead_changed: bool = False
    seen_until: float = 0.0
    next_due: float | None = None  # when the queue next has something to send
    workers: list[DeliveryWorker] = field(default_factory=list)
    event_serial: int = 0


def catalogue() -> list[dict[str, Any]]:
    """The shop's items: ids as the model's events name them (`<category>-<n>`)."""
    return [
        {
            "id": f"{category}-{n}",
            "title": f"{category.title()} item {n}",
            "category": category,
            "price": float(10 + (n * 7) % 90),
            "currency": "EUR",
        }
        for category in CATEGORIES
        for n in range(ITEMS_PER_CATEGORY)
    ]


def token_for(run_tag: str, user: SimUser) -> str:
    """A device token unique to the run (hex, as APNs wants; FCM takes any string)."""
    return hashlib.sha256(f"{run_tag}/{user.external_id}".encode()).hexdigest()


async def run_population(
    model: PopulationModel,
    strategy: Strategy,
    *,
    seed: int,
    days: int,
    sims: Simulators,
    workdir: Path,
    database_url: str | None = None,
    on_day: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Simulate `days` days; returns the run's entry of `summary.json` (plus extra keys)."""
    url = database_url or f"sqlite:///{workdir}/{strategy.name.strip('+')}-{seed}.db"
    admin_key = "pw_admin_" + secrets.token_urlsafe(24)  # the shop's own app is made through the API
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url,
        admin_key=admin_key,
        secret_key=secrets.token_urlsafe(32),
        secret_key_file=str(workdir / "key"),
        allow_private_endpoints=True,
        retry_base_seconds=60,
        retry_cap_seconds=3600,
        retry_max_attempts=strategy.retry_max_attempts,
        monitoring=False,
        api_rate_limit=0,
        api_rate_limit_per_ip=0,
        log_level="warning",
    )
    clock = ManualClock(start=START.timestamp())
    services = build_services(settings, clock=clock, rng=random.Random(seed))
    rng = random.Random(seed)
    people = {user.external_id: user for user in model.users(random.Random(seed))}
    tag = f"{strategy.name}/{seed}"
    tokens = {uid: token_for(tag, user) for uid, user in people.items()}
    # A Chinese Android phone's second token: its maker's push service (FCM reaches no one there).
    vendor_tokens = {
        uid: token_for(f"{tag}/{user.vendor}", user) for uid, user in people.items() if user.vendor
    }
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://study", timeout=600) as http:
            run = await _prepare(services, clock, http, admin_key, strategy, sims, model, people, tokens, rng)
            run.vendor_tokens = vendor_tokens
            await _devices(run)
            for day in range(days):
                await _simulate_day(run, day)
                if on_day is not None:
                    on_day(day)
            return await _summary(run, seed, len(people), days)
    finally:
        await services.close()


async def _prepare(
    services: Services,
    clock: ManualClock,
    http: httpx.AsyncClient,
    admin_key: str,
    strategy: Strategy,
    sims: Simulators,
    model: PopulationModel,
    people: dict[str, SimUser],
    tokens: dict[str, str],
    rng: random.Random,
) -> Run:
    admin = {"authorization": f"Bearer {admin_key}"}
    app = await _ok(http.post("/v1/apps", json={"name": "shop"}, headers=admin))
    headers = {"authorization": f"Bearer {app['server_key']}"}
    app_id = app["id"]
    for channel, body in sims.provider_bodies().items():
        await _ok(http.put(f"/v1/apps/{app_id}/providers/{channel}", json=body, headers=headers))
    await _ok(http.put(f"/v1/apps/{app_id}/policy", json=strategy.policy, headers=headers))
    await _ok(http.put("/v1/catalog/items", json={"items": catalogue()}, headers=headers))
    await _ok(http.put("/v1/templates/deal", json=TEMPLATE, headers=headers))
    everyone = list(people.values())
    for start in range(0, len(everyone), BATCH):
        chunk = everyone[start : start + BATCH]
        batch = [
            {
                "external_id": u.external_id,
                "timezone": u.timezone,
                "locale": u.locale,
                "attributes": u.attributes,
                "location": {"country": u.country},
            }
            for u in chunk
        ]
        await _ok(http.post("/v1/users/batch", json={"users": batch}, headers=headers))
    run = Run(services, clock, http, headers, app_id, strategy, sims, model, people, tokens, rng, Tally())
    async with services.db.read.connect() as conn:
        rows = await conn.execute(select(users.c.id, users.c.external_id).where(users.c.app_id == app_id))
        run.internal = {row.id: row.external_id for row in rows}
    run.seen_until = clock.now()
    return run


async def _devices(run: Run) -> None:
    """Register the opted-in users' devices, and make FCM a dead end for Chinese Android phones."""
    await _register(run, [u for u in run.people.values() if u.push_enabled and u.platform != "web"])
    run.dead = {run.tokens[e] for e in run.vendor_tokens}
    await run.sims.reset()
    await run.sims.set_faults(run.strategy.faults, sorted(run.dead))


async def _register(run: Run, people: list[SimUser]) -> None:
    """Devices as the app registers them (again, for a shop that never prunes its own list)."""
    for start in range(0, len(people), BATCH // 2):
        batch = [device for u in people[start : start + BATCH // 2] for device in _devices_of(run, u)]
        await _ok(run.http.post("/v1/devices:batch", json={"devices": batch}, headers=run.headers))


def _devices_of(run: Run, user: SimUser) -> list[dict[str, Any]]:
    """The app's registrations for the user's phone: its APNs or FCM token, and on a Chinese
    Android phone its maker's token too (one installation) when the strategy routes by vendor."""
    device = {
        "platform": user.platform,
        "token": run.tokens[user.external_id],
        "user_id": user.external_id,
        "timezone": user.timezone,
        "locale": user.locale,
    }
    vendor_token = run.vendor_tokens.get(user.external_id)
    if vendor_token is None or not run.strategy.vendor_routes:
        return [device]
    installation = {"installation_id": f"phone-{user.external_id}"}
    return [
        {**device, **installation},
        {**device, **installation, "vendor": user.vendor, "token": vendor_token},
    ]


async def _simulate_day(run: Run, day: int) -> None:
    start = START + timedelta(days=day)
    for user in run.people.values():
        if user.external_id in run.tally.uninstalls:
            continue
        for event in run.model.day(user, start, run.rng):
            run.pending.append((user.external_id, event, None))
    send_hour = _send_hour(run.strategy, start)
    for hour in range(24):
        now = start.timestamp() + hour * HOUR
        run.clock.set(now)
        if hour == send_hour:
            await _send(run, start)
            run.next_due = now
        reacted = False
        # Hours with nothing due cost nothing: the worker runs when the queue's next delivery is due.
        if run.next_due is not None and run.next_due <= now:
            reacted = await _drain(run)
            if reacted:
                await _reactions(run)
        if reacted or hour % POST_EVERY_HOURS == POST_EVERY_HOURS - 1:
            await _post_due(run)
    run.clock.set(start.timestamp() + DAY)
    await _post_due(run)
    if not run.strategy.pruning:
        await _reregister(run)
    _count_day(run, day)


def _send_hour(strategy: Strategy, start: datetime) -> int | None:
    if start.weekday() not in strategy.weekdays:
        return None
    return 0 if strategy.local_hour is not None else strategy.hour_utc


async def _send(run: Run, start: datetime) -> None:
    """Today's marketing push, as the strategy would send it."""
    strategy = run.strategy
    category = run.rng.choice(CATEGORIES)
    body: dict[str, Any] = {
        "to": {"all": True},
        "category": "promotions",
        "ttl_seconds": 86_400,
        "on_cap": "suppress",
    }
    if strategy.personalised:
        body.update(template="deal", pick={"strategy": "for_you"})
    else:
        title, text = f"Today's deal: {category}", f"Up to 30% off {category} today only"
        body["content"] = {"title": title, "body": text, "data": {"category": category}}
    if strategy.local_hour is not None:
        body["send_at"] = {"local_time": strategy.local_hour}
    elif strategy.send_time:
        body["send_at"] = {"optimize": True, "within_hours": 24}
    accepted = await _ok(run.http.post("/v1/notifications", json=body, headers=run.headers))
    now = run.clock.now()
    run.recent = [(t, n) for t, n in run.recent if t > now - 3 * DAY] + [(now, accepted["id"])]
    if not strategy.personalised:
        run.shown[accepted["id"]] = (body["content"]["title"], body["content"]["body"], category, {})


async def _drain(run: Run) -> bool:
    """Send everything due now: a few workers claim batches side by side, as a worker's lanes do,
    so one batch's sends overlap another's database writes. True when anything was handled."""
    if not run.workers:
        run.workers = [run.services.engine.worker() for _ in range(WORKERS)]
    handled = False
    while any(await asyncio.gather(*(worker.run_once() for worker in run.workers))):
        handled = True
    async with run.services.db.read.connect() as conn:
        run.next_due = await conn.scalar(
            select(func.min(deliveries.c.due_at)).where(deliveries.c.due_at.is_not(None))
        )
    return handled


async def _reactions(run: Run) -> None:
    """Pushes that reached a device since the last look go to the model."""
    now = run.clock.now()
    ids = [n for _, n in run.recent]
    if not ids:
        run.seen_until = now
        return
    query = select(
        deliveries.c.id,
        deliveries.c.notification_id,
        deliveries.c.user_id,
        deliveries.c.channel,
        deliveries.c.outcome_at,
        deliveries.c.item_id,
    ).where(
        and_(
            deliveries.c.notification_id.in_(ids),
            deliveries.c.state == "delivered",
            deliveries.c.channel.in_(PUSH_CHANNELS),
            deliveries.c.outcome_at > run.seen_until,
            deliveries.c.outcome_at <= now,
        )
    )
    async with run.services.db.read.connect() as conn:
        rows = (await conn.execute(query)).all()
    run.seen_until = now
    for row in sorted(rows, key=lambda r: (r.outcome_at, r.id)):
        external = run.internal.get(row.user_id)
        user = run.people.get(external or "")
        if user is None or external in run.tally.uninstalls:
            continue
        push = _seen(run, row)
        for event in run.model.react(user, push, run.rng):
            run.pending.append((user.external_id, event, push))


def _seen(run: Run, row: Any) -> SeenPush:
    """The push as the phone showed it: a picked item's words, or the day's deal."""
    category: str | None
    if row.item_id:
        category, _, number = str(row.item_id).rpartition("-")
        title, body, data = f"For you: {category.title()} item {number}", category, {"item_id": row.item_id}
    else:
        title, body, category, data = run.shown.get(row.notification_id, ("", "", None, {}))
    return SeenPush(
        at=datetime.fromtimestamp(row.outcome_at, UTC),
        title=title,
        body=body,
        category=category,
        data=data,
        notification_id=row.notification_id,
        delivery_id=str(row.id),
        channel=row.channel,
    )


async def _post_due(run: Run) -> None:
    """Post every pending event whose time has come, in batches through `POST /v1/events`."""
    now = run.clock.now()
    due = [item for item in run.pending if item[1].at.timestamp() <= now]
    if not due:
        return
    run.pending = [item for item in run.pending if item[1].at.timestamp() > now]
    due.sort(key=lambda item: item[1].at)
    posted = []
    for external, event, push in due:
        if external in run.tally.uninstalls:
            continue
        posted += _translate(run, external, event, push)
    run.tally.events_posted += len(posted)
    for start in range(0, len(posted), BATCH):
        await _ok(
            run.http.post("/v1/events", json={"events": posted[start : start + BATCH]}, headers=run.headers)
        )
    if run.dead_changed:
        await run.sims.set_faults(run.strategy.faults, sorted(run.dead))
        run.dead_changed = False


def _translate(run: Run, external: str, event: SimEvent, push: SeenPush | None) -> list[dict[str, Any]]:
    """A model's event as the app posts it (and as the study counts it)."""
    tally = run.tally
    at = event.at.timestamp()
    if event.type == UNINSTALL:
        tally.uninstalls.add(external)
        _kill_token(run, external)
        return []
    kind, properties = event.type, dict(event.properties)
    if event.type == DISABLE_PUSH:
        tally.opt_outs.add(external)
        _kill_token(run, external)
        kind, properties = "permission_changed", {**properties, "push_permission": "denied"}
    if kind == "unsubscribed":
        tally.opt_outs.add(external)
    if kind in ACTIVITY_EVENTS:
        tally.last_active[external] = at
    if kind == "opened":
        tally.opened += 1
    elif kind == "clicked":
        tally.clicked += 1
    elif kind in ("purchased", "converted"):
        tally.conversions += 1
        tally.revenue += event.value or 0.0
        if push is not None:
            tally.push_conversions += 1
            tally.push_revenue += event.value or 0.0
    run.event_serial += 1
    posted: dict[str, Any] = {
        "id": f"sim-{run.event_serial}",
        "type": kind,
        "user_id": external,
        "at": event.at.isoformat(),
        "properties": properties,
    }
    if event.category:
        posted["category"] = event.category
    if event.value is not None:
        posted.update(value=event.value, currency="EUR")
    if push is not None and kind in NOTIFICATION_EVENTS:
        posted.update(notification_id=push.notification_id, delivery_id=int(push.delivery_id))
    return [posted]


def _kill_token(run: Run, external: str) -> None:
    for token in (run.tokens.get(external), run.vendor_tokens.get(external)):
        if token and token not in run.dead:
            run.dead.add(token)
            run.dead_changed = True


async def _reregister(run: Run) -> None:
    """A shop that never prunes keeps registering the tokens it once had."""
    dead = [run.people[e] for e, t in run.tokens.items() if t in run.dead and run.people[e].platform != "web"]
    await _register(run, dead)


def _count_day(run: Run, day: int) -> None:
    tally, now = run.tally, run.clock.now()
    horizon = now - RETAINED_DAYS * DAY
    start_credit = START.timestamp() - DAY  # everyone was active the day before the study
    retained = sum(
        1
        for external in run.people
        if external not in tally.uninstalls and tally.last_active.get(external, start_credit) > horizon
    )
    tally.retention_curve.append(retained / max(1, len(run.people)))
    for name, value in (
        ("opened", tally.opened),
        ("clicked", tally.clicked),
        ("conversions", tally.conversions),
        ("revenue", tally.revenue),
        ("opt_outs", len(tally.opt_outs)),
        ("uninstalls", len(tally.uninstalls)),
    ):
        tally.daily[name].append(float(value))


async def _summary(run: Run, seed: int, population: int, days: int) -> dict[str, Any]:
    """The run's entry of `summary.json` (the pinned keys first, then the report's extras)."""
    counts = select(
        func.count().filter(deliveries.c.attempts > 0),
        func.count().filter(deliveries.c.state == "delivered"),
        func.count().filter(deliveries.c.state == "failed"),
        func.count().filter(deliveries.c.state == "expired"),
        func.count().filter(deliveries.c.state.in_(("suppressed", "held_out"))),
    ).where(deliveries.c.app_id == run.app_id, deliveries.c.channel.in_(PUSH_CHANNELS))
    async with run.services.db.read.connect() as conn:
        sent, delivered, failed, expired, held = (await conn.execute(counts)).one()
    tally = run.tally
    return {
        "seed": seed,
        "users": population,
        "days": days,
        "pushes_sent": int(sent),
        "pushes_delivered": int(delivered),
        "opened": tally.opened,
        "clicked": tally.clicked,
        "conversions": tally.conversions,
        "revenue": round(tally.revenue, 2),
        "opt_outs": len(tally.opt_outs),
        "uninstalls": len(tally.uninstalls),
        "retained_at_end": tally.retention_curve[-1] if tally.retention_curve else 1.0,
        "retention_curve": [round(v, 5) for v in tally.retention_curve],
        "pushes_failed": int(failed),
        "pushes_expired": int(expired),
        "pushes_held_back": int(held),
        "push_conversions": tally.push_conversions,
        "push_revenue": round(tally.push_revenue, 2),
        "events_posted": tally.events_posted,
        "daily": {name: values for name, values in tally.daily.items()},
    }


async def _ok(request: Any) -> Any:
    answer: httpx.Response = await request
    if answer.status_code >= 400:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text[:300]}"
        )
    return answer.json()
