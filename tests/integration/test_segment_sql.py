"""Segment rules select, in SQL, exactly the users the reference evaluator selects: on both engines.

Each hypothesis example makes a new app with generated users and checks generated rules
against `domain.audience.reference.matches`. The apps of earlier examples stay in the
database, so a rule that reached another tenant's users would select too many and fail.
The compiler is also fuzzed: whatever JSON a client sends, parsing refuses it with a
`RuleError` or the compiled SQL runs (never a database error, on either engine).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, func, select

from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.preferences import Category
from pushwise.domain.audience.reference import Moment, Person, matches
from pushwise.domain.audience.rule_parser import parse_rule
from pushwise.domain.audience.rules import Rule, RuleError
from pushwise.domain.clock import ManualClock
from pushwise.store import migrate
from pushwise.store.db import Database, open_database
from pushwise.store.schema import users
from pushwise.store.segment_sql import Compiled, user_condition
from pushwise.store.segments import SegmentRepository, segment_condition
from tests.integration.pg_databases import fresh_postgres
from tests.integration.segment_population import Population
from tests.segment_strategies import DAY, HALF_LIFE, NOW, app_categories, leaves, persons, rules

pytestmark = pytest.mark.integration
T = TypeVar("T")
SHARED_STORE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


class Store:
    """A database driven from synchronous hypothesis tests, on an event loop of its own."""

    def __init__(self, loop: asyncio.AbstractEventLoop, db: Database) -> None:
        self.loop = loop
        self.db = db
        self.population = Population(db)
        self._fuzz_app: str | None = None

    def fuzz_app(self) -> str:
        """An app whose users hold every JSON kind under short keys, made once per database."""
        if self._fuzz_app is None:
            values: list[Any] = ["", "1", "1e3", "abc", 0, -1.5, 2**60, True, None, [1, "a", None], {"a": 1}]
            people = [Person(attributes={key: value for key in ("", "a", "0", "é")}) for value in values]
            self._fuzz_app = self.run(self.population.app({}))
            self.run(self.population.users(self._fuzz_app, people))
        return self._fuzz_app

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def compare(
        self, people: list[Person], raws: list[dict[str, Any]], declared: dict[str, Category]
    ) -> None:
        """Store `people` in a new app; each rule must select in SQL whom the reference selects."""
        app_id = self.run(self.population.app(declared))
        external_ids = self.run(self.population.users(app_id, people))
        moment = Moment(NOW, HALF_LIFE, declared)
        for raw in raws:
            rule = parse_rule(raw)
            expected = {
                external_id
                for external_id, person in zip(external_ids, people, strict=True)
                if matches(rule, person, moment)
            }
            assert self.selected(app_id, rule) == expected, raw

    def selected(self, app_id: str, rule: Rule) -> set[str]:
        """The app's users the rule selects, compiled as the planner compiles it."""
        at = Compiled(self.db.dialect, app_id, NOW, HALF_LIFE)

        def read(conn: Connection) -> set[str]:
            query = select(users.c.external_id).where(
                users.c.app_id == app_id, segment_condition(conn, at, rule)
            )
            return set(conn.execute(query).scalars())

        return self.run(self.db.query(read))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    loop = asyncio.new_event_loop()
    databases = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'segments.db'}"
        migrate.upgrade(url)
    else:
        databases = fresh_postgres(request.getfixturevalue("postgres_server"), prefix="pw_segments")
        url = loop.run_until_complete(databases.__aenter__())
    store = Store(loop, open_database(url, pool_size=2))
    try:
        yield store
    finally:
        store.run(store.db.dispose())
        if databases is not None:
            loop.run_until_complete(databases.__aexit__(None, None, None))
        loop.close()


@settings(max_examples=50, deadline=None, suppress_health_check=SHARED_STORE)
@given(
    people=st.lists(persons(), min_size=4, max_size=10),
    raws=st.lists(rules, min_size=1, max_size=4),
    declared=app_categories,
)
def test_sql_selects_whom_the_reference_selects(
    store: Store, people: list[Person], raws: list[dict[str, Any]], declared: dict[str, Category]
) -> None:
    store.compare(people, raws, declared)


@settings(max_examples=40, deadline=None, suppress_health_check=SHARED_STORE)
@given(
    people=st.lists(persons(), min_size=8, max_size=14),
    raws=st.lists(leaves, min_size=10, max_size=20),
    declared=app_categories,
)
def test_each_clause_selects_whom_the_reference_selects(
    store: Store, people: list[Person], raws: list[dict[str, Any]], declared: dict[str, Category]
) -> None:
    """Single clauses over larger populations: every boundary of every field is met often."""
    store.compare(people, raws, declared)


def test_preview_counts_and_samples_the_same_users(store: Store) -> None:
    """Through the repository: a saved segment named in a rule selects what its own rule does."""
    people = [Person(country="DE", tags=("a",)), Person(country="DE"), Person(country="FR", tags=("a",))]
    app_id = store.run(store.population.app({}))
    store.run(store.population.users(app_id, [*people, *[Person(country="DE")] * 25]))
    segments = SegmentRepository(store.db, ManualClock(NOW), interest_half_life=HALF_LIFE)
    germans = store.run(segments.create(app_id, "germans", {"field": "country", "op": "=", "value": "DE"}))
    tagged_germans = {
        "all": [
            {"field": "segment", "op": "=", "value": germans.id},
            {"field": "tags", "op": "contains", "value": "a"},
        ]
    }
    assert store.run(segments.preview(app_id, parse_rule(tagged_germans))).sample == ["u0"]
    everyone_german = store.run(
        segments.preview(app_id, parse_rule({"field": "segment", "op": "=", "value": germans.id}))
    )
    assert everyone_german.count == 27
    assert len(everyone_german.sample) == 20
    assert everyone_german.sample == sorted(everyone_german.sample)


# --- fuzzing: any JSON a client may send ---

_text = st.text(max_size=12)
_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | _text
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
_values = st.one_of(
    st.booleans(),
    st.floats(-2, 2),
    _text,
    _scalars,
    st.lists(_scalars, min_size=1, max_size=3),
    st.fixed_dictionaries({"lat": st.floats(-90, 90), "lon": st.floats(-180, 180), "km": st.floats(0, 1e6)}),
    _json,
)
# A field with an operator it takes (or anything at all), and any value.
_field_ops = st.one_of(
    st.tuples(
        st.builds("attributes.{}".format, _text),
        st.sampled_from(("=", "!=", "<", ">=", "in", "exists", "contains")),
    ),
    st.tuples(st.just("tags"), st.sampled_from(("contains", "in", "exists"))),
    st.tuples(st.builds("interests.{}".format, _text), st.sampled_from(("<", ">="))),
    st.tuples(
        st.sampled_from(("engagement.7d.opened", "engagement.all.revenue")), st.sampled_from(("=", "<"))
    ),
    st.tuples(st.just("last_active_days"), st.sampled_from(("=", "<", "in", "exists"))),
    st.tuples(
        st.sampled_from(("country", "locale", "timezone", "platform", "segment")),
        st.sampled_from(("=", "!=", "in", "exists", "prefix")),
    ),
    st.tuples(st.just("location"), st.sampled_from(("within_km", "exists"))),
    st.tuples(st.builds("preference.{}.email".format, _text), st.sampled_from(("=", "!="))),
    st.tuples(_text, _text),
)
_fuzzed_leaves = st.builds(
    lambda field_op, value: {"field": field_op[0], "op": field_op[1], "value": value}, _field_ops, _values
)
_fuzzed_rules = st.recursive(
    st.one_of(_fuzzed_leaves, _fuzzed_leaves, _fuzzed_leaves, _fuzzed_leaves, _json),
    lambda children: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(children, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(children, max_size=3)),
        st.builds(lambda item: {"not": item}, children),
    ),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=SHARED_STORE)
@given(raw=_fuzzed_rules)
def test_any_json_is_refused_with_a_path_or_runs(store: Store, raw: Any) -> None:
    try:
        rule = parse_rule(raw)
    except RuleError as error:
        refused = error
    else:
        refused = None
    if refused is not None:
        assert refused.path.startswith("rule"), refused
        return
    app_id = store.fuzz_app()
    at = Compiled(store.db.dialect, app_id, NOW, HALF_LIFE)
    query = select(func.count()).select_from(users).where(users.c.app_id == app_id, user_condition(rule, at))
    assert 0 <= store.run(store.db.query(lambda conn: conn.execute(query).scalar_one())) <= 11


# --- boundaries, spelled out: what docs/audience.md promises, on both engines ---

_EDGE_PEOPLE = {
    "ancient": Person(interests={"shoes": Decayed(5.0, NOW - 2000 * HALF_LIFE)}),  # decays past underflow
    "future": Person(interests={"shoes": Decayed(4.0, NOW + DAY)}, last_active_at=NOW + 60),
    "averse": Person(interests={"shoes": Decayed(-8.0, NOW - 3600)}),
    "three_days": Person(last_active_at=NOW - 3 * DAY, attributes={"age": "3"}, locale="zh-Hant-TW"),
    "never": Person(attributes={"age": 3, "vip": None}, locale="ZH"),
    # Arithmetic PostgreSQL refuses where C rounds to 0: tiny products must never be formed.
    "tiny": Person(lat=5e-324, lon=-5e-324, interests={"shoes": Decayed(1e-290, NOW - 200 * HALF_LIFE)}),
    "pole": Person(lat=90.0, lon=-180.0),
}
ODD = ("tiny", "pole")
_EDGES: list[tuple[dict[str, Any], set[str]]] = [
    ({"field": "interests.shoes", "op": ">", "value": 0.0}, {"future"}),
    ({"field": "interests.shoes", "op": ">=", "value": 0.5}, {"future"}),  # 4.0 raw is exactly 0.5
    ({"field": "interests.shoes", "op": "<", "value": 0.0}, {"averse"}),
    (
        {"field": "interests.shoes", "op": ">", "value": -0.5},
        {"ancient", "future", "three_days", "never", *ODD},
    ),
    (
        {"field": "last_active_days", "op": ">=", "value": 3},
        {"ancient", "averse", "three_days", "never", *ODD},
    ),
    ({"field": "last_active_days", "op": "<", "value": 3}, {"future"}),
    ({"field": "last_active_days", "op": "=", "value": 3}, {"three_days"}),
    ({"field": "last_active_days", "op": "exists", "value": False}, {"ancient", "averse", "never", *ODD}),
    ({"field": "attributes.age", "op": "=", "value": 3}, {"never"}),
    (
        {"field": "attributes.age", "op": "!=", "value": 3},
        {"ancient", "future", "averse", "three_days", *ODD},
    ),
    ({"field": "attributes.age", "op": ">=", "value": "3"}, {"three_days"}),
    ({"field": "attributes.vip", "op": "exists"}, set()),
    ({"field": "locale", "op": "prefix", "value": "zh"}, {"three_days", "never"}),
    ({"field": "locale", "op": "prefix", "value": "zh-hant"}, {"three_days"}),
    ({"field": "location", "op": "within_km", "value": {"lat": 0, "lon": 0, "km": 0}}, {"tiny"}),
    ({"field": "location", "op": "within_km", "value": {"lat": 90, "lon": 0, "km": 1}}, {"pole"}),
]


def test_boundaries(store: Store) -> None:
    app_id = store.run(store.population.app({}))
    names = list(_EDGE_PEOPLE)
    external_ids = store.run(store.population.users(app_id, list(_EDGE_PEOPLE.values())))
    moment = Moment(NOW, HALF_LIFE)
    for raw, expected in _EDGES:
        rule = parse_rule(raw)
        by_reference = {name for name, person in _EDGE_PEOPLE.items() if matches(rule, person, moment)}
        by_sql = {names[external_ids.index(found)] for found in store.selected(app_id, rule)}
        assert (by_reference, by_sql) == (expected, expected), raw
