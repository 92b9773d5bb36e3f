"""Statements run on SQLite's own cursor behave as they do through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from pushwise.store.driver import run

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
    Column("data", JSON),
    Column("size", Integer, nullable=False, server_default="0"),
)
INSERT = insert(things)
NAMED = select(things.c.name, things.c.data).where(things.c.name.in_(bindparam("names", expanding=True)))
RESIZE = update(things).where(things.c.name == bindparam("b_name")).values(size=bindparam("size"))


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_json_values_expanding_lists_and_many_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        run(conn, INSERT, {"name": "a", "data": {"k": [1, 2]}})  # id and size left to the database
        run(conn, INSERT, [{"name": "b", "data": None}, {"name": "c", "data": {"z": "é"}}])
        found = sorted(run(conn, NAMED, {"names": ["a", "c", "missing"]}))
        changed = run(conn, RESIZE, [{"b_name": "a", "size": 3}, {"b_name": "b", "size": 4}]).rowcount
    assert [name for name, _ in found] == ["a", "c"]
    with engine.connect() as conn:
        rows = {row.name: (row.data, row.size) for row in conn.execute(select(things))}
    assert changed == 2
    assert rows == {"a": ({"k": [1, 2]}, 3), "b": (None, 4), "c": ({"z": "é"}, 0)}


def test_a_constraint_violation_is_sqlalchemys_integrity_error(engine: Engine) -> None:
    with engine.begin() as conn:
        run(conn, INSERT, {"name": "a", "data": None})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        run(conn, INSERT, {"name": "a", "data": None})


def test_many_rows_keep_the_statements_own_values(engine: Engine) -> None:
    # `data=None` is a value of the statement, not of the rows: every row must bind it.
    clear = (
        update(things).where(things.c.name == bindparam("b_name")).values(size=bindparam("size"), data=None)
    )
    with engine.begin() as conn:
        run(conn, INSERT, [{"name": n, "data": {"n": n}} for n in "abc"])
        run(conn, clear, [{"b_name": "a", "size": 1}, {"b_name": "b", "size": 2}])
    with engine.connect() as conn:
        rows = {row.name: (row.data, row.size) for row in conn.execute(select(things))}
    assert rows == {"a": (None, 1), "b": (None, 2), "c": ({"n": "c"}, 0)}


def test_rows_that_expand_to_different_statements_are_refused(engine: Engine) -> None:
    drop = things.delete().where(things.c.name.in_(bindparam("names", expanding=True)))
    with pytest.raises(ValueError), engine.begin() as conn:
        run(conn, drop, [{"names": ["a"]}, {"names": ["b", "c"]}])
