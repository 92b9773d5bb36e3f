"""Hot statements on SQLite's own cursor, inside `Database.transact`.

On the writer thread, SQLAlchemy's execution machinery (execution context,
result wrapping, events) costs more than SQLite itself: most of an accept's time
there. `run` hands a Core statement, compiled once per statement and expanded by
SQLAlchemy for these parameters (so the SQL still comes from the schema), straight
to the driver's cursor. Elsewhere (PostgreSQL) it is an ordinary `execute`.

Only for statements whose results are read by position or not at all: the driver
returns plain tuples.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, cast

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

Params = Mapping[str, Any]


class Rows(Protocol):
    """What both a driver cursor and a SQLAlchemy result offer."""

    @property
    def rowcount(self) -> int: ...

    def __iter__(self) -> Iterator[Sequence[Any]]: ...


_compiled: dict[tuple[int, frozenset[str]], tuple[Executable, SQLCompiler]] = {}


def run(conn: Connection, statement: Executable, params: Params | Sequence[Params]) -> Rows:
    """Execute once (a mapping) or for each of a sequence of mappings (executemany)."""
    if conn.dialect.name != "sqlite":
        return conn.execute(statement, params)
    rows = [params] if isinstance(params, Mapping) else list(params)
    cursor = cast(sqlite3.Connection, conn.connection.driver_connection).cursor()
    if not rows:
        return cursor
    compiled = _compiler(conn, statement, frozenset(rows[0]))
    first = compiled.construct_expanded_state(rows[0])
    values = [_positional(compiled, first.positiontup, first.parameters, first.processors)]
    if first.statement == compiled.string:
        # Nothing was expanded (no IN lists): every row binds the same names in the same order.
        # The statement's own binds (constants inside expressions) are the first row's; the
        # rest is read straight from each row, with the columns' type conversions.
        values += _same_shape(compiled, first.positiontup, first.parameters, rows)
    else:
        for row in rows[1:]:
            state = compiled.construct_expanded_state(row)
            if state.statement != first.statement:
                raise ValueError("rows whose IN lists differ in length cannot share one executemany")
            values.append(_positional(compiled, state.positiontup, state.parameters, state.processors))
    sql = first.statement
    try:
        if len(values) == 1:
            cursor.execute(sql, values[0])
        else:
            cursor.executemany(sql, values)
    except sqlite3.Error as error:
        # The same exception classes as through SQLAlchemy: callers catch its IntegrityError.
        raise DBAPIError.instance(sql, values, error, sqlite3.Error, hide_parameters=True) from error
    return cursor


def _compiler(conn: Connection, statement: Executable, keys: frozenset[str]) -> SQLCompiler:
    """Compiled once per statement and set of parameter names (an INSERT lists only the columns given).

    The statements are module constants, so their ids are stable; the statement is kept
    beside its compiled form so an id is never reused for another one.
    """
    key = (id(statement), keys)
    found = _compiled.get(key)
    if found is None or found[0] is not statement:
        compiled = statement.compile(dialect=conn.dialect, column_keys=sorted(keys))  # type: ignore[attr-defined]
        found = _compiled[key] = (statement, compiled)
    return found[1]


def _same_shape(
    compiled: SQLCompiler, names: Sequence[str] | None, first: Mapping[str, Any], rows: Sequence[Params]
) -> list[tuple[Any, ...]]:
    processors = cast(Mapping[str, Callable[[Any], Any]], compiled._bind_processors)
    given = rows[0].keys()
    plan = []
    for name in names or ():
        convert = processors.get(name)
        constant = first[name] if convert is None else convert(first[name])
        plan.append((name, convert, name in given, constant))
    if all(convert is None and from_row for _name, convert, from_row, _value in plan):
        ordered = [name for name, *_rest in plan]
        return [tuple([row[name] for name in ordered]) for row in rows[1:]]
    return [
        tuple(
            [
                (convert(row[name]) if convert is not None else row[name]) if from_row else constant
                for name, convert, from_row, constant in plan
            ]
        )
        for row in rows[1:]
    ]


def _positional(
    compiled: SQLCompiler,
    names: Sequence[str] | None,
    values: Mapping[str, Any],
    expanded_processors: Mapping[str, Callable[[Any], Any]] | None = None,
) -> tuple[Any, ...]:
    # Type conversions (JSON to text, ...): the compiled statement's own, as SQLAlchemy's
    # execution context applies them; an expanded state adds those of expanded names only.
    processors = cast(Mapping[str, Callable[[Any], Any]], compiled._bind_processors)
    if expanded_processors:
        processors = {**processors, **expanded_processors}
    return tuple(
        processors[name](values[name]) if name in processors else values[name] for name in names or ()
    )
