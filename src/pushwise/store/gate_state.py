"""What the gate needs for a whole claimed batch, read in one hand-off, never per delivery.

Each part is one statement over the batch's users (or apps, or streams) and only the parts
some delivery of the batch needs are read: preferences and the users' zones and quiet hours
always; the send ledger when a policy caps or a phone maker's quota applies; feedback and
open propensity when fatigue is on; histograms when a notification asks for send-time
optimisation; digest windows and parts when digests are on; paced streams when a rate
applies. On PostgreSQL the reserving transaction reads after taking the users' locks
(`gate_ledger.lock`), so it sees every slot another worker reserved before it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY

from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.learning import LearningOptions, open_propensity
from pushwise.domain.audience.preferences import Preferences, QuietHours
from pushwise.domain.china.vendors import VENDORS
from pushwise.domain.gate import GateDelivery, GatePolicy, OpenDigest, Send, SentPush, UserState
from pushwise.domain.gate.batch import BatchState, Effects, screen_batch
from pushwise.domain.gate.policy import policy_of
from pushwise.store.categories import category_of
from pushwise.store.db import Database
from pushwise.store.driver import run
from pushwise.store.gate_explain import ExplainTarget, KnownDelivery, explain_target, known_delivery
from pushwise.store.gate_ledger import PartText, lock, read_parts, write_effects
from pushwise.store.schema import (
    app_policies,
    categories,
    channel_unsubscribes,
    gate_digests,
    gate_paces,
    gate_sends,
    notifications,
    user_events,
    user_preferences,
    users,
)
from pushwise.store.send_hours import app_hours, user_hours

FEEDBACK_TYPES = ("opened", "clicked", "too_many", "not_interested")


@dataclass(frozen=True, slots=True)
class StateRequest:
    """Which parts of the state a batch needs (see the module docstring)."""

    user_ids: Collection[str] = ()  # the users' own ids
    subjects: Collection[str] = ()  # ledger keys: user ids, and `device:<id>` for users-less devices
    keys: Collection[str] = ()  # the categories of the batch's notifications
    ledger_since: float | None = None
    feedback_since: float | None = None
    optimised: Collection[str] = ()  # users whose notifications ask for send-time optimisation
    digests: bool = False
    streams: Collection[str] = ()
    channels: Collection[str] = ()  # the batch's channels: the only ones whose choices matter


Member = Callable[[ColumnElement[Any], str], ColumnElement[bool]]


def _in_json_list(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """SQLite: membership in a JSON array bound as one text value. A batch's 500 user ids as an
    `IN` list would be 500 binds, expanded into new SQL text (parsed anew) on every batch."""
    return column.in_(
        select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=String)))
    )


def _in_array(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """PostgreSQL: `= ANY(array)`, one bind whatever the batch's size."""
    return column == any_(bindparam(name, type_=ARRAY(String)))


def _statements(member: Member) -> dict[str, Any]:
    """The batch's reads, the same SQL text for every batch."""
    # Feedback answering a push names its notification; its category is the notification's.
    feedback = (
        select(
            user_events.c.user_id,
            user_events.c.type,
            user_events.c.at,
            user_events.c.notification_id,
            func.coalesce(user_events.c.category, notifications.c.category),
        )
        .select_from(
            user_events.outerjoin(notifications, notifications.c.id == user_events.c.notification_id)
        )
        .where(
            member(user_events.c.user_id, "user_ids"),
            user_events.c.type.in_(FEEDBACK_TYPES),
            user_events.c.at > bindparam("since"),
        )
    )
    return {
        "users": select(
            users.c.id,
            users.c.timezone,
            users.c.country,
            users.c.quiet_hours,
            users.c.opens_decayed,
            users.c.pushes_decayed,
            users.c.engaged_at,
        ).where(member(users.c.id, "user_ids")),
        "choices": select(
            user_preferences.c.user_id,
            user_preferences.c.category,
            user_preferences.c.channel,
            user_preferences.c.allowed,
        ).where(
            member(user_preferences.c.user_id, "user_ids"),
            member(user_preferences.c.category, "keys"),
            member(user_preferences.c.channel, "channels"),
        ),
        "unsubscribes": select(channel_unsubscribes.c.user_id, channel_unsubscribes.c.channel).where(
            member(channel_unsubscribes.c.user_id, "user_ids"),
            member(channel_unsubscribes.c.channel, "channels"),
        ),
        "ledger": select(gate_sends)
        .where(member(gate_sends.c.user_id, "subjects"), gate_sends.c.at > bindparam("since"))
        .order_by(gate_sends.c.at, gate_sends.c.delivery_id),
        "feedback": feedback,
        "digests": select(gate_digests).where(member(gate_digests.c.user_id, "subjects")),
        "paces": select(gate_paces.c.stream, gate_paces.c.next_free).where(
            member(gate_paces.c.stream, "streams")
        ),
    }


_STATEMENTS = {"sqlite": _statements(_in_json_list), "postgresql": _statements(_in_array)}


def _bound(conn: Connection, values: Collection[str]) -> Any:
    """A list as one bound value: JSON text on SQLite, an array on PostgreSQL."""
    ordered = sorted(values)
    return orjson.dumps(ordered).decode() if conn.dialect.name == "sqlite" else ordered


def read_policies(
    conn: Connection, app_ids: Collection[str], population: Collection[str], now: float
) -> dict[str, GatePolicy]:
    """Each app's policy with its categories (and its population's hours where asked for)."""
    if not app_ids:
        return {}
    documents = {
        row.app_id: row.policy or {}
        for row in conn.execute(select(app_policies).where(app_policies.c.app_id.in_(list(app_ids))))
    }
    defined: dict[str, dict[str, Any]] = {}
    query = select(categories).where(categories.c.app_id.in_(list(app_ids))).order_by(categories.c.position)
    for row in conn.execute(query):
        defined.setdefault(row.app_id, {})[row.key] = category_of(row)
    hours = app_hours(conn, population, now)
    return {
        app_id: replace(
            policy_of(documents.get(app_id, {}), defined.get(app_id, {})),
            population_hours=hours.get(app_id, {}),
        )
        for app_id in app_ids
    }


def read_batch(
    conn: Connection,
    request: StateRequest,
    policies: Mapping[str, GatePolicy],
    learning: LearningOptions,
    now: float,
) -> BatchState:
    statements = _STATEMENTS[conn.dialect.name]
    user_ids = sorted(request.user_ids)
    found: dict[str, dict[str, Any]] = {subject: {} for subject in request.subjects}
    bound_users = _bound(conn, user_ids)
    if user_ids:
        _read_users(conn, statements, bound_users, request, found, learning, now)
    if request.ledger_since is not None and request.subjects:
        ledger = run(
            conn,
            statements["ledger"],
            {"subjects": _bound(conn, request.subjects), "since": request.ledger_since},
        )
        _read_ledger(ledger, found)
    if request.feedback_since is not None and user_ids:
        feedback = run(
            conn, statements["feedback"], {"user_ids": bound_users, "since": request.feedback_since}
        )
        _read_feedback(feedback, user_ids, found)
    if request.optimised:
        for user_id, hours in user_hours(conn, request.optimised, now).items():
            found.setdefault(user_id, {})["send_hours"] = hours
    if request.digests and request.subjects:
        for row in run(conn, statements["digests"], {"subjects": _bound(conn, request.subjects)}):
            digest = OpenDigest(int(row[3]), row[1], float(row[4]))
            found.setdefault(row[0], {}).setdefault("digests", {})[row[1]] = digest
    paces: dict[str, float] = {}
    if request.streams:
        found_paces = run(conn, statements["paces"], {"streams": _bound(conn, request.streams)})
        paces = {row[0]: float(row[1]) for row in found_paces}
    return BatchState(
        {subject: UserState(**fields) for subject, fields in found.items()}, dict(policies), paces
    )


def _read_users(
    conn: Connection,
    statements: Mapping[str, Any],
    user_ids: Any,
    request: StateRequest,
    found: dict[str, dict[str, Any]],
    learning: LearningOptions,
    now: float,
) -> None:
    channels = _bound(conn, request.channels)
    choices: dict[str, dict[tuple[str, str], bool]] = {}
    if request.keys:
        asked = {"user_ids": user_ids, "keys": _bound(conn, request.keys), "channels": channels}
        for user_id, key, channel, allowed in run(conn, statements["choices"], asked):
            choices.setdefault(user_id, {})[(key, channel)] = bool(allowed)
    unsubscribed: dict[str, set[str]] = {}
    for user_id, channel in run(
        conn, statements["unsubscribes"], {"user_ids": user_ids, "channels": channels}
    ):
        unsubscribed.setdefault(user_id, set()).add(channel)
    half_life = learning.propensity_half_life
    no_choices: dict[tuple[str, str], bool] = {}
    for user_id, timezone, country, quiet, opens, pushes, engaged_at in run(
        conn, statements["users"], {"user_ids": user_ids}
    ):
        if isinstance(quiet, str):  # the driver's own rows (SQLite) carry JSON as text
            quiet = orjson.loads(quiet)
        hours = QuietHours.of(quiet) if isinstance(quiet, dict) else None
        fields = found.setdefault(user_id, {})
        gone = unsubscribed.get(user_id)
        fields["preferences"] = Preferences(
            choices.get(user_id, no_choices), frozenset(gone) if gone else frozenset(), hours
        )
        fields["timezone"], fields["country"] = timezone, country
        if engaged_at is not None:
            fields["open_propensity"] = open_propensity(
                Decayed(opens, engaged_at).worth(now, half_life),
                Decayed(pushes, engaged_at).worth(now, half_life),
            )


def _read_ledger(rows: Iterable[Sequence[Any]], found: dict[str, dict[str, Any]]) -> None:
    capped: dict[str, list[SentPush]] = {}
    vendor: dict[str, list[SentPush]] = {}
    for row in rows:
        (delivery_id, _app, subject, notification_id, at, channel, device_id, category, campaign) = row[:9]
        content_key, collapse_key, marketing, is_capped = row[9:]
        push = SentPush(
            delivery_id,
            notification_id,
            at,
            channel,
            device_id,
            category,
            campaign,
            content_key,
            collapse_key,
            bool(marketing),
            bool(is_capped),
        )
        if push.capped:
            capped.setdefault(subject, []).append(push)
        if channel in VENDORS:
            vendor.setdefault(subject, []).append(push)
    for subject, pushes in capped.items():
        found.setdefault(subject, {})["sent"] = tuple(pushes)
    for subject, pushes in vendor.items():
        found.setdefault(subject, {})["vendor_sent"] = tuple(pushes)


def _read_feedback(
    rows: Iterable[Sequence[Any]], user_ids: list[str], found: dict[str, dict[str, Any]]
) -> None:
    engaged: dict[str, set[str]] = {}
    refused: dict[str, set[str]] = {}
    complaints: dict[str, list[float]] = {}
    for row in rows:
        user_id, kind, at, notification_id, category = row
        if kind in ("opened", "clicked") and notification_id:
            engaged.setdefault(user_id, set()).add(notification_id)
        elif kind == "not_interested" and category:
            refused.setdefault(user_id, set()).add(category)
        elif kind == "too_many":
            complaints.setdefault(user_id, []).append(float(at))
    for user_id in user_ids:
        fields = found.setdefault(user_id, {})
        fields["engaged"] = frozenset(engaged.get(user_id, ()))
        fields["not_interested"] = frozenset(refused.get(user_id, ()))
        fields["too_many"] = tuple(sorted(complaints.get(user_id, ())))


@dataclass(frozen=True, slots=True)
class ScreenResult:
    effects: Effects
    parts: Mapping[int, list[PartText]]  # what each carrier going out now carries


class GateStates:
    def __init__(self, db: Database, learning: LearningOptions) -> None:
        self._db = db
        self._learning = learning

    async def policies(
        self, app_ids: Collection[str], population: Collection[str], now: float
    ) -> dict[str, GatePolicy]:
        return await self._db.query(lambda conn: read_policies(conn, app_ids, population, now))

    async def screen(
        self,
        deliveries: Sequence[GateDelivery],
        policies: Mapping[str, GatePolicy],
        request: StateRequest,
        now: float,
        texts: Mapping[int, PartText],
        *,
        writes: bool,
    ) -> ScreenResult:
        """Read the batch's state, decide every delivery, and write what the decisions reserve.

        With `writes`, all of it is one write transaction holding the users' (and paced
        streams') locks; without, nothing is reserved and one read does.
        """

        def work(conn: Connection) -> ScreenResult:
            if writes:
                lock(conn, [*request.subjects, *request.streams])
            state = read_batch(conn, request, policies, self._learning, now)
            effects = screen_batch(deliveries, state, now)
            if writes:
                write_effects(conn, effects, now, texts)
            parts: dict[int, list[PartText]] = {}
            if request.digests:
                going = [d for d, decision in effects.decisions.items() if isinstance(decision, Send)]
                parts = read_parts(conn, going)
            return ScreenResult(effects, parts)

        return await (self._db.transact(work) if writes else self._db.query(work))

    async def state_of(
        self, request: StateRequest, policies: Mapping[str, GatePolicy], now: float
    ) -> BatchState:
        """The state one delivery would be decided on (for `explain`): read, nothing reserved."""
        return await self._db.query(lambda conn: read_batch(conn, request, policies, self._learning, now))

    async def target(self, app_id: str, user_id: str, device_id: str | None) -> ExplainTarget | None:
        return await self._db.query(lambda conn: explain_target(conn, app_id, user_id, device_id))

    async def delivery(self, app_id: str, notification_id: str, delivery_id: int) -> KnownDelivery | None:
        return await self._db.query(lambda conn: known_delivery(conn, app_id, notification_id, delivery_id))
