"""Campaigns and journey runs: definitions, due rows for the leader, entries and exits at ingest.

Journey entries and exits happen in the transaction that stores the events that cause
them (`enter_and_exit`, called by the event log), so a journey never misses an event and
never reacts twice to one. Runs advance in the leader's sweep (`campaigns/runner.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select, update

from pushwise.domain.campaigns.conditions import RunFacts, holds, profile_leaves
from pushwise.domain.campaigns.journeys import START, Journey, parse_journey
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.ids import new_id
from pushwise.store.journey_conditions import profile_matches
from pushwise.store.schema import campaigns, deliveries, journey_runs, notifications, user_events, users


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    app_id: str
    name: str
    kind: str
    definition: Mapping[str, Any]
    status: str
    next_run_at: float | None
    runs: int
    created_at: float
    updated_at: float


def _campaign(row: Any) -> Campaign:
    return Campaign(
        row.id,
        row.app_id,
        row.name,
        row.kind,
        row.definition,
        row.status,
        row.next_run_at,
        row.runs,
        row.created_at,
        row.updated_at,
    )


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    campaign_id: str
    app_id: str
    user_id: str
    event: Mapping[str, Any]
    pointer: tuple[int | str, ...]
    entered_at: float
    claim: str | None
    timezone: str | None
    external_id: str


class CampaignRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        app_id: str,
        name: str,
        kind: str,
        definition: Mapping[str, Any],
        now: float,
        *,
        trigger: str | None = None,
        next_run_at: float | None = None,
        status: str = "active",
    ) -> Campaign:
        row = {
            "id": new_id("cmp"),
            "app_id": app_id,
            "name": name,
            "kind": kind,
            "definition": dict(definition),
            "status": status,
            "trigger": trigger,
            "next_run_at": next_run_at,
            "runs": 0,
            "created_at": now,
            "updated_at": now,
        }
        await self._db.transact(lambda conn: conn.execute(campaigns.insert().values(row)))
        return _campaign(_Row(row))

    async def get(self, app_id: str, campaign_id: str) -> Campaign | None:
        query = select(campaigns).where(campaigns.c.app_id == app_id, campaigns.c.id == campaign_id)
        async with self._db.read.connect() as conn:
            row = (await conn.execute(query)).first()
        return _campaign(row) if row is not None else None

    async def of_app(self, app_id: str) -> list[Campaign]:
        query = select(campaigns).where(campaigns.c.app_id == app_id).order_by(campaigns.c.created_at.desc())
        async with self._db.read.connect() as conn:
            return [_campaign(row) for row in await conn.execute(query)]

    async def set_status(self, app_id: str, campaign_id: str, status: str, now: float) -> bool:
        statement = (
            update(campaigns)
            .where(
                campaigns.c.app_id == app_id, campaigns.c.id == campaign_id, campaigns.c.status != "finished"
            )
            .values(status=status, updated_at=now)
        )
        return bool(await self._db.transact(lambda conn: conn.execute(statement).rowcount))

    async def due(self, now: float, limit: int = 100) -> list[Campaign]:
        query = (
            select(campaigns)
            .where(
                campaigns.c.status == "active",
                campaigns.c.next_run_at.is_not(None),
                campaigns.c.next_run_at <= now,
            )
            .order_by(campaigns.c.next_run_at)
            .limit(limit)
        )
        return await self._db.query(lambda conn: [_campaign(row) for row in conn.execute(query)])

    async def ran(self, campaign_id: str, next_run_at: float | None, now: float) -> None:
        values: dict[str, Any] = {"next_run_at": next_run_at, "runs": campaigns.c.runs + 1, "updated_at": now}
        if next_run_at is None:
            values["status"] = "finished"
        statement = update(campaigns).where(campaigns.c.id == campaign_id).values(**values)
        await self._db.transact(lambda conn: conn.execute(statement))


class _Row:
    """A dict seen as a row, for building a `Campaign` from what was just inserted."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


# --- entries and exits, inside the event log's transaction -----------------------------


def enter_and_exit(
    conn: Connection, app_id: str, events: Sequence[tuple[str, str, float, Mapping[str, Any]]], now: float
) -> int:
    """Journey runs for `events` ((user id, type, at, event as templates see it)); returns runs entered.

    Exits first: an event that ends a journey also stops a run that the same batch starts earlier.
    """
    types = {kind for _user, kind, _at, _event in events}
    journeys = _active_journeys(conn, app_id)
    if not journeys:
        return 0
    _exit(conn, journeys, [(user, kind) for user, kind, _at, _event in events], now)
    starting = {cid: j for cid, j in journeys.items() if j.trigger in types}
    if not starting:
        return 0
    return _enter(conn, app_id, starting, events, now)


def exit_on(conn: Connection, app_id: str, user_id: str, kind: str, now: float) -> None:
    """End the user's runs of journeys that exit on `kind`, for what pushwise itself records
    (an unsubscribe through its e-mail link or preference page is an `unsubscribed` exit)."""
    journeys = _active_journeys(conn, app_id)
    if journeys:
        _exit(conn, journeys, [(user_id, kind)], now)


def _exit(
    conn: Connection, journeys: Mapping[str, Journey], seen: Sequence[tuple[str, str]], now: float
) -> None:
    """Mark `exited` the active runs of users who did one of their journey's exit events."""
    for campaign_id, journey in journeys.items():
        leaving = sorted({user for user, kind in seen if kind in journey.exit_events})
        if leaving:
            conn.execute(
                update(journey_runs)
                .where(
                    journey_runs.c.campaign_id == campaign_id,
                    journey_runs.c.user_id.in_(leaving),
                    journey_runs.c.state == "active",
                )
                .values(state="exited", due_at=None, updated_at=now)
            )


def enter_system(
    conn: Connection, app_id: str, trigger: str, user_ids: Sequence[str], event: Mapping[str, Any], now: float
) -> int:
    """Runs of journeys on a system trigger (`back_in_stock`, `win_back`, ...) for these users."""
    if not user_ids:
        return 0
    journeys = {cid: j for cid, j in _active_journeys(conn, app_id).items() if j.trigger == trigger}
    if not journeys:
        return 0
    return _enter(conn, app_id, journeys, [(user, trigger, now, event) for user in user_ids], now)


def _active_journeys(conn: Connection, app_id: str) -> dict[str, Journey]:
    query = select(campaigns.c.id, campaigns.c.definition).where(
        campaigns.c.app_id == app_id, campaigns.c.kind == "journey", campaigns.c.status == "active"
    )
    return {row.id: parse_journey(row.definition["journey"]) for row in conn.execute(query)}


def _enter(
    conn: Connection,
    app_id: str,
    journeys: Mapping[str, Journey],
    events: Sequence[tuple[str, str, float, Mapping[str, Any]]],
    now: float,
) -> int:
    user_ids = sorted({user for user, *_rest in events})
    history: dict[tuple[str, str], tuple[float, int]] = {}
    for row in conn.execute(
        select(
            journey_runs.c.campaign_id,
            journey_runs.c.user_id,
            func.max(journey_runs.c.entered_at),
            func.sum(case((journey_runs.c.state == "active", 1), else_=0)),
        )
        .where(journey_runs.c.campaign_id.in_(sorted(journeys)), journey_runs.c.user_id.in_(user_ids))
        .group_by(journey_runs.c.campaign_id, journey_runs.c.user_id)
    ):
        history[(row[0], row[1])] = (float(row[2]), int(row[3] or 0))
    profile = _profile_answers(conn, app_id, journeys, user_ids, now)
    rows = []
    for campaign_id, journey in sorted(journeys.items()):
        for user, kind, _at, event in sorted(events, key=lambda e: (e[2], e[0])):
            if kind != journey.trigger:
                continue
            last, active = history.get((campaign_id, user), (None, 0))
            if active or (
                last is not None and (journey.reentry_seconds is None or now - last < journey.reentry_seconds)
            ):
                continue
            if journey.where is not None and not holds(
                journey.where, RunFacts(profile.get((campaign_id, user), {}), (), event), "trigger.where"
            ):
                continue
            history[(campaign_id, user)] = (now, 1)
            rows.append(
                {
                    "campaign_id": campaign_id,
                    "app_id": app_id,
                    "user_id": user,
                    "event": dict(event),
                    "pointer": list(START),
                    "state": "active",
                    "entered_at": now,
                    "due_at": now,
                    "claim": None,
                    "updated_at": now,
                }
            )
    if rows:
        run(conn, journey_runs.insert(), rows)
    return len(rows)


def _profile_answers(
    conn: Connection, app_id: str, journeys: Mapping[str, Journey], user_ids: Sequence[str], now: float
) -> dict[tuple[str, str], dict[str, bool]]:
    answers: dict[tuple[str, str], dict[str, bool]] = {}
    for campaign_id, journey in journeys.items():
        if journey.where is None:
            continue
        leaves = profile_leaves(journey.where, "trigger.where")
        for path, members in profile_matches(conn, app_id, leaves, user_ids, now).items():
            for user in user_ids:
                answers.setdefault((campaign_id, user), {})[path] = user in members
    return answers


def enter_inactive(conn: Connection, now: float) -> int:
    """Win-back: users who crossed their journey's `inactive_days` in the last two days enter it.

    A window, not "everyone inactive": each user crosses the threshold once per quiet spell, and
    two days cover a leader that was down for a while; re-entry rules drop repeats.
    """
    entered = 0
    query = select(campaigns.c.id, campaigns.c.app_id, campaigns.c.definition).where(
        campaigns.c.kind == "journey", campaigns.c.status == "active", campaigns.c.trigger == "win_back"
    )
    for row in conn.execute(query).all():
        days = float(row.definition["journey"]["trigger"].get("inactive_days", 14))
        quiet = select(users.c.id).where(
            users.c.app_id == row.app_id,
            users.c.last_active_at < now - days * 86_400.0,
            users.c.last_active_at >= now - (days + 2) * 86_400.0,
        )
        user_ids = sorted(conn.execute(quiet.limit(100_000)).scalars())
        entered += enter_system(
            conn, row.app_id, "win_back", user_ids, {"type": "win_back", "inactive_days": days}, now
        )
    return entered


# --- the leader's sweep -----------------------------------------------------------------


def due_runs(conn: Connection, now: float, limit: int) -> list[RunRow]:
    query = (
        select(
            journey_runs.c.id,
            journey_runs.c.campaign_id,
            journey_runs.c.app_id,
            journey_runs.c.user_id,
            journey_runs.c.event,
            journey_runs.c.pointer,
            journey_runs.c.entered_at,
            journey_runs.c.claim,
            users.c.timezone,
            users.c.external_id,
        )
        .select_from(
            journey_runs.join(users, users.c.id == journey_runs.c.user_id).join(
                campaigns, campaigns.c.id == journey_runs.c.campaign_id
            )
        )
        .where(journey_runs.c.state == "active", journey_runs.c.due_at <= now, campaigns.c.status == "active")
        .order_by(journey_runs.c.due_at, journey_runs.c.id)
        .limit(limit)
    )
    return [
        RunRow(
            r.id,
            r.campaign_id,
            r.app_id,
            r.user_id,
            r.event,
            tuple(r.pointer),
            r.entered_at,
            r.claim,
            r.timezone,
            r.external_id,
        )
        for r in conn.execute(query)
    ]


def did_since_entry(conn: Connection, runs: Sequence[RunRow], types: Sequence[str]) -> dict[int, set[str]]:
    """Per run, which of `types` its user did since the run entered."""
    if not runs or not types:
        return {}
    earliest = min(r.entered_at for r in runs)
    done: dict[str, list[tuple[str, float]]] = {}
    for row in conn.execute(
        select(user_events.c.user_id, user_events.c.type, user_events.c.at).where(
            user_events.c.user_id.in_(sorted({r.user_id for r in runs})),
            user_events.c.type.in_(sorted(set(types))),
            user_events.c.at >= earliest,
        )
    ):
        done.setdefault(row.user_id, []).append((row.type, row.at))
    return {r.id: {kind for kind, at in done.get(r.user_id, []) if at >= r.entered_at} for r in runs}


_ADVANCE = (
    update(journey_runs)
    .where(journey_runs.c.id == bindparam("b_id"), journey_runs.c.state == "active")
    .values(
        pointer=bindparam("pointer"),
        state=bindparam("state"),
        due_at=bindparam("due_at"),
        claim=bindparam("claim"),
        updated_at=bindparam("now"),
    )
)


def advance(conn: Connection, updates: Sequence[Mapping[str, Any]]) -> None:
    """Write runs' next pointer, state, due time and claim (an exited run is left alone)."""
    if updates:
        run(conn, _ADVANCE, sorted(updates, key=lambda u: u["b_id"]))


def journey_events(
    conn: Connection, campaign_ids: Sequence[str], user_ids: Sequence[str]
) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The event behind each user's latest run of these journeys: what their templates call `event`."""
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    query = (
        select(journey_runs.c.campaign_id, journey_runs.c.user_id, journey_runs.c.event)
        .where(journey_runs.c.campaign_id.in_(campaign_ids), journey_runs.c.user_id.in_(user_ids))
        .order_by(journey_runs.c.entered_at)
    )
    for row in conn.execute(query):
        found[(row.campaign_id, row.user_id)] = row.event
    return found


def campaign_deliveries(
    conn: Connection, app_id: str, campaign_id: str, after_id: int, limit: int
) -> list[Any]:
    """A page of the deliveries a campaign's notifications made, by id (the notification listing's shape)."""
    query = (
        select(
            deliveries.c.id,
            deliveries.c.notification_id,
            deliveries.c.device_id,
            deliveries.c.user_id,
            deliveries.c.channel,
            deliveries.c.state,
            deliveries.c.attempts,
            deliveries.c.last_reason,
            deliveries.c.last_status,
            deliveries.c.sent_at,
            deliveries.c.outcome_at,
            deliveries.c.due_at,
            deliveries.c.accepted_at,
            users.c.external_id.label("user_external_id"),
        )
        .select_from(
            deliveries.join(notifications, notifications.c.id == deliveries.c.notification_id).outerjoin(
                users, users.c.id == deliveries.c.user_id
            )
        )
        .where(
            notifications.c.campaign_id == campaign_id,
            notifications.c.app_id == app_id,
            deliveries.c.id > after_id,
        )
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    return list(conn.execute(query))
