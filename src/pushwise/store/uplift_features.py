"""What an uplift model knows of a user at a moment: their attributes and their profile as of then.

The profile's figures (engagement, open propensity, interests, last active) are
recomputed from the user-event log as they stood at time `t`, over the `lookback`
before it: the assignment's moment when training, now when scoring. A model trained on
today's profile would see what the push itself caused (the opens of the very push whose
effect it is learning), and would credit those users' later purchases to "being an
opener"; as of `t`, nothing after the assignment reaches the features. Attributes,
country and platform (of devices registered before `t`) are the user's own facts.

Every read takes a *probe*: a subquery of (experiment_id, user_id, t) rows, one per
row to describe, so training (all assignments of some experiments) and scoring (some
users, now) share each statement. Names follow the segment rules' fields:
`attributes.<key>`, `country`, `platform`, `engagement.<counter>`, `open_propensity`,
`interests.<category>`, `last_active_days`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Float, Subquery, and_, case, func, literal, select

from pushwise.domain.audience.decay import LN2
from pushwise.domain.audience.event_types import ACTIVITY_EVENTS
from pushwise.domain.audience.interests import affinity
from pushwise.domain.audience.learning import LearningOptions, open_propensity
from pushwise.store.db import Database
from pushwise.store.schema import devices, user_events, users

Value = float | str | None
Key = tuple[str, str]  # (experiment id, user id); experiment id "" when scoring
DAY = 86400.0
ENGAGEMENT = ("delivered", "opened", "clicked", "dismissed", "converted")
FIXED_FEATURES = ("country", "platform", "open_propensity", "last_active_days")
FAMILIES = ("attributes", "engagement", "interests")


@dataclass(frozen=True, slots=True)
class FeatureOptions:
    learning: LearningOptions
    lookback_seconds: float = 90 * DAY


def wanted(name: str, selection: tuple[str, ...] | None) -> bool:
    """Whether feature `name` is among `selection` (None: all); a family (`interests`) selects all of it."""
    if selection is None:
        return True
    return name in selection or name.split(".", 1)[0] in selection


def valid_selection(entry: str) -> bool:
    family, _, rest = entry.partition(".")
    if entry in FIXED_FEATURES or entry in FAMILIES:
        return True
    if family == "engagement":
        return rest in (*ENGAGEMENT, "revenue")
    return family in ("attributes", "interests") and bool(rest)


def scoring_probe(user_ids: list[str], now: float) -> Subquery:
    return (
        select(
            literal("").label("experiment_id"), users.c.id.label("user_id"), literal(now, Float).label("t")
        )
        .where(users.c.id.in_(user_ids))
        .subquery()
    )


def families(names: Sequence[str]) -> frozenset[str]:
    """Which reads a model's feature names need: `attributes` (with country), `platform`,
    `engagement` (with open propensity and last active), `interests`."""
    needed = set()
    for name in names:
        family = name.split(".", 1)[0]
        if family in ("open_propensity", "last_active_days"):
            family = "engagement"
        needed.add("attributes" if family == "country" else family)
    return frozenset(needed)


ALL_FAMILIES = frozenset({"attributes", "platform", "engagement", "interests"})


def read_features(
    conn: Connection,
    probe: Subquery,
    options: FeatureOptions,
    selection: tuple[str, ...] | None = None,
    needed: frozenset[str] = ALL_FAMILIES,
) -> dict[Key, dict[str, Value]]:
    """Every probed row's features (rows of users without any are present, with fewer names);
    `needed` skips the reads of families a model does not use."""
    query = select(probe.c.experiment_id, probe.c.user_id, users.c.attributes, users.c.country).join(
        users, users.c.id == probe.c.user_id
    )
    out = {
        (row.experiment_id, row.user_id): _own_facts(row.attributes, row.country, needed)
        for row in conn.execute(query)
    }
    return _with_profile(conn, probe, options, out, selection, needed)


def _own_facts(
    attributes: Mapping[str, Any] | None, country: str | None, needed: frozenset[str]
) -> dict[str, Value]:
    features: dict[str, Value] = {"country": country}
    if "attributes" in needed:
        for name, value in (attributes or {}).items():
            if isinstance(value, bool | int | float | str):
                features[f"attributes.{name}"] = value
    return features


def _with_profile(
    conn: Connection,
    probe: Subquery,
    options: FeatureOptions,
    out: dict[Key, dict[str, Value]],
    selection: tuple[str, ...] | None,
    needed: frozenset[str],
) -> dict[Key, dict[str, Value]]:
    if "platform" in needed:
        _platforms(conn, probe, out)
    if "engagement" in needed:
        _engagement(conn, probe, options, out)
    if "interests" in needed:
        _interests(conn, probe, options, out)
    if selection is None:
        return out
    return {key: {n: v for n, v in f.items() if wanted(n, selection)} for key, f in out.items()}


def _platforms(conn: Connection, probe: Subquery, out: dict[Key, dict[str, Value]]) -> None:
    """The platform of the user's newest device registered before `t` ("none" without one)."""
    newest: dict[Key, tuple[float, str]] = {}
    query = select(probe.c.experiment_id, probe.c.user_id, devices.c.platform, devices.c.created_at).join(
        devices, and_(devices.c.user_id == probe.c.user_id, devices.c.created_at < probe.c.t)
    )
    for row in conn.execute(query):
        key = (row.experiment_id, row.user_id)
        if key not in newest or row.created_at > newest[key][0]:
            newest[key] = (row.created_at, row.platform)
    for key, features in out.items():
        features["platform"] = newest[key][1] if key in newest else "none"


def _in_lookback(probe: Subquery, options: FeatureOptions) -> Any:
    return and_(
        user_events.c.user_id == probe.c.user_id,
        user_events.c.at >= probe.c.t - options.lookback_seconds,
        user_events.c.at < probe.c.t,
    )


def _engagement(
    conn: Connection, probe: Subquery, options: FeatureOptions, out: dict[Key, dict[str, Value]]
) -> None:
    half_life = options.learning.propensity_half_life
    decayed = func.sum(func.exp(-LN2 * (probe.c.t - user_events.c.at) / half_life))
    types = sorted({*ENGAGEMENT, *ACTIVITY_EVENTS})
    query = (
        select(
            probe.c.experiment_id,
            probe.c.user_id,
            user_events.c.type,
            func.count(),
            func.sum(func.coalesce(user_events.c.value, 0.0)),
            func.max(user_events.c.at),
            decayed,
            probe.c.t,
        )
        .join(user_events, _in_lookback(probe, options))
        .where(user_events.c.type.in_(types))
        .group_by(probe.c.experiment_id, probe.c.user_id, probe.c.t, user_events.c.type)
    )
    seen: dict[Key, dict[str, tuple[int, float, float, float, float]]] = {}
    for experiment_id, user_id, kind, count, total, last, weight, t in conn.execute(query):
        seen.setdefault((experiment_id, user_id), {})[kind] = (int(count), float(total), last, weight, t)
    for key, features in out.items():
        by_type = seen.get(key, {})
        for kind in ENGAGEMENT:
            features[f"engagement.{kind}"] = float(by_type[kind][0]) if kind in by_type else 0.0
        features["engagement.revenue"] = by_type["converted"][1] if "converted" in by_type else 0.0
        opens = by_type["opened"][3] if "opened" in by_type else 0.0
        pushes = by_type["delivered"][3] if "delivered" in by_type else 0.0
        features["open_propensity"] = open_propensity(opens, pushes)
        since = [value[4] - value[2] for kind, value in by_type.items() if kind in ACTIVITY_EVENTS]
        features["last_active_days"] = min(since) / DAY if since else None


def _interests(
    conn: Connection, probe: Subquery, options: FeatureOptions, out: dict[Key, dict[str, Value]]
) -> None:
    weights: Mapping[str, float] = options.learning.interest_weights
    if not weights:
        return
    half_life = options.learning.interest_half_life
    weight = case(dict(weights), value=user_events.c.type, else_=0.0)
    query = (
        select(
            probe.c.experiment_id,
            probe.c.user_id,
            user_events.c.category,
            func.sum(weight * func.exp(-LN2 * (probe.c.t - user_events.c.at) / half_life)),
        )
        .join(user_events, _in_lookback(probe, options))
        .where(user_events.c.category.is_not(None), user_events.c.type.in_(list(weights)))
        .group_by(probe.c.experiment_id, probe.c.user_id, user_events.c.category)
    )
    for experiment_id, user_id, category, raw in conn.execute(query):
        features = out.get((experiment_id, user_id))
        if features is not None:
            features[f"interests.{category}"] = affinity(float(raw))


async def features_now(
    db: Database,
    app_id: str,
    external_ids: Sequence[str],
    now: float,
    options: FeatureOptions,
    selection: tuple[str, ...] | None,
    needed: frozenset[str] = ALL_FAMILIES,
) -> tuple[list[str | None], list[dict[str, Value]]]:
    """For scoring: each user's internal id (None if unknown) and features now, in the order asked."""

    def read(conn: Connection) -> tuple[list[str | None], list[dict[str, Value]]]:
        # One statement finds the users and their own facts; the profile's reads follow only
        # for the families the model uses.
        query = select(users.c.external_id, users.c.id, users.c.attributes, users.c.country).where(
            users.c.app_id == app_id, users.c.external_id.in_(list(external_ids))
        )
        ids: dict[str, str] = {}
        found: dict[Key, dict[str, Value]] = {}
        for row in conn.execute(query):
            ids[row.external_id] = row.id
            found[("", row.id)] = _own_facts(row.attributes, row.country, needed)
        probe = scoring_probe(list(ids.values()), now)
        found = _with_profile(conn, probe, options, found, selection, needed - {"attributes"}) if ids else {}
        internal = [ids.get(e) for e in external_ids]
        return internal, [found.get(("", i), {}) if i else {} for i in internal]

    return await db.query(read)


async def features_of(
    db: Database,
    user_ids: Sequence[str],
    now: float,
    options: FeatureOptions,
    selection: tuple[str, ...] | None,
    needed: frozenset[str] = ALL_FAMILIES,
) -> list[dict[str, Value]]:
    """For the planner: features now of users by internal id, in the order given."""

    def read(conn: Connection) -> list[dict[str, Value]]:
        found = read_features(conn, scoring_probe(list(user_ids), now), options, selection, needed)
        return [found.get(("", user_id), {}) for user_id in user_ids]

    return await db.query(read)
