"""Reading users' JSON attributes and tags in SQL, the same way on SQLite and PostgreSQL.

The engines name JSON kinds differently (SQLite: `integer`, `real`, `text`, `true`;
PostgreSQL: `number`, `string`, `boolean`) and fail differently (PostgreSQL raises
on `'abc'::float8` or on the elements of a scalar, SQLite carries on). Each engine
gets the few primitives below; the tests built from them (`JsonAttributes.test`)
are shared, so both engines apply the rules of `domain/audience/reference.py`: a
value matches only a value of its own kind, and nothing is ever NULL.
"""

from __future__ import annotations

import typing
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Float,
    FromClause,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
)

from pushwise.domain.audience.reference import COMPARE
from pushwise.domain.audience.rules import (
    AttributeCompare,
    AttributeContains,
    AttributeExists,
    AttributeIn,
    Scalar,
)
from pushwise.store.schema import users

AttributeTest = AttributeCompare | AttributeIn | AttributeExists | AttributeContains


def sql_compare(op: str, left: ColumnElement[Any], right: ColumnElement[Any]) -> ColumnElement[bool]:
    """`left op right` for a rule's comparison operator (`=`, `<`, `<=`, `>`, `>=`)."""
    return typing.cast(ColumnElement[bool], COMPARE[op](left, right))


class JsonAttributes(ABC):
    """Attribute and tag tests; subclasses supply one engine's JSON primitives."""

    # --- the engine's primitives ---

    @abstractmethod
    def kind_is(self, key: str, kind: str) -> ColumnElement[bool]:
        """The attribute is of this kind (`number`, `string`, `boolean`, `array`, `null`: absent
        or JSON null); never NULL."""

    @abstractmethod
    def number(self, key: str) -> ColumnElement[float]:
        """The attribute as a double; only read where `kind_is(key, "number")`."""

    @abstractmethod
    def text(self, key: str) -> ColumnElement[str]:
        """The attribute as text, ordered by code point; only read where it is a string."""

    @abstractmethod
    def element_match(self, key: str, value: Scalar) -> ColumnElement[bool]:
        """The attribute is an array with `value` (of the same kind) among its elements."""

    @abstractmethod
    def substring(self, text: ColumnElement[str], value: str) -> ColumnElement[bool]: ...

    @abstractmethod
    def tag_rows(self) -> tuple[FromClause, ColumnElement[str]]:
        """The user's tags as rows, and their value column."""

    # --- tests shared by both engines ---

    def test(self, rule: AttributeTest) -> ColumnElement[bool]:
        match rule:
            case AttributeExists(key):
                return ~self.kind_is(key, "null")
            case AttributeCompare(key, op, value):
                return self.compare(key, op, value)
            case AttributeIn(key, values):
                return or_(*(self.compare(key, "=", value) for value in values))
            case AttributeContains(key, value):
                within = self.element_match(key, value)
                if not isinstance(value, str):
                    return within
                substring = self.substring(self.text(key), value)
                inside = case((self.kind_is(key, "string"), substring), else_=false())
                return or_(inside, within)
        raise TypeError(f"not an attribute test: {rule!r}")

    def compare(self, key: str, op: str, value: Scalar) -> ColumnElement[bool]:
        if isinstance(value, bool):
            return self.boolean_is(key, value)
        if isinstance(value, float):
            stored: ColumnElement[Any] = self.number(key)
            kind, operand = "number", literal(value, Float)
        else:
            stored, kind, operand = self.text(key), "string", literal(value)
        return case((self.kind_is(key, kind), sql_compare(op, stored, operand)), else_=false())

    def boolean_is(self, key: str, value: bool) -> ColumnElement[bool]:
        return self.kind_is(key, "true" if value else "false")

    def tagged(self, tags: Sequence[str] | None) -> ColumnElement[bool]:
        if tags is None:
            return func.json_array_length(users.c.tags) > 0
        rows, value = self.tag_rows()
        return exists(select(literal(1)).select_from(rows).where(value.in_(tags)))


class SqliteJson(JsonAttributes):
    _KINDS = {
        "number": ("integer", "real"),
        "string": ("text",),
        "boolean": ("true", "false"),
        "true": ("true",),
        "false": ("false",),
        "array": ("array",),
        "null": ("", "null"),
    }

    @staticmethod
    def _path(key: str) -> ColumnElement[str]:
        return literal(f'$."{key}"')

    def kind_is(self, key: str, kind: str) -> ColumnElement[bool]:
        found = func.coalesce(func.json_type(users.c.attributes, self._path(key)), "")
        return found.in_(self._KINDS[kind])

    def number(self, key: str) -> ColumnElement[float]:
        return cast(func.json_extract(users.c.attributes, self._path(key)), Float)

    def text(self, key: str) -> ColumnElement[str]:
        return func.json_extract(users.c.attributes, self._path(key))

    def element_match(self, key: str, value: Scalar) -> ColumnElement[bool]:
        # json_each over a scalar yields the scalar itself: only arrays are searched.
        rows = func.json_each(users.c.attributes, self._path(key)).table_valued("type", "value")
        if isinstance(value, bool):
            match: ColumnElement[bool] = rows.c.type == ("true" if value else "false")
        elif isinstance(value, float):
            match = and_(rows.c.type.in_(self._KINDS["number"]), cast(rows.c.value, Float) == value)
        else:
            match = and_(rows.c.type == "text", rows.c.value == value)
        return and_(self.kind_is(key, "array"), exists(select(literal(1)).select_from(rows).where(match)))

    def substring(self, text: ColumnElement[str], value: str) -> ColumnElement[bool]:
        return func.instr(text, literal(value)) > 0

    def tag_rows(self) -> tuple[FromClause, ColumnElement[str]]:
        rows = func.json_each(users.c.tags).table_valued("value")
        value: ColumnElement[str] = rows.c.value
        return rows, value


class PostgresJson(JsonAttributes):
    _KINDS = {"number": "number", "string": "string", "boolean": "boolean", "array": "array"}

    def _kind(self, key: str) -> ColumnElement[str]:
        return func.coalesce(func.json_typeof(users.c.attributes[key]), "")

    def kind_is(self, key: str, kind: str) -> ColumnElement[bool]:
        if kind in ("true", "false"):
            return and_(self._kind(key) == "boolean", users.c.attributes[key].as_string() == kind)
        if kind == "null":
            return self._kind(key).in_(("", "null"))
        return self._kind(key) == self._KINDS[kind]

    def number(self, key: str) -> ColumnElement[float]:
        return cast(users.c.attributes[key].as_string(), Float)

    def text(self, key: str) -> ColumnElement[str]:
        text: ColumnElement[str] = users.c.attributes[key].as_string().collate("C")
        return text

    def element_match(self, key: str, value: Scalar) -> ColumnElement[bool]:
        # json_array_elements raises on a scalar: anything but an array reads as [].
        array = case((self._kind(key) == "array", users.c.attributes[key]), else_=cast(literal("[]"), JSON))
        rows = func.json_array_elements(array).table_valued("value")
        kind = func.coalesce(func.json_typeof(rows.c.value), "")
        text = rows.c.value.op("#>>")(literal_column("'{}'"))
        if isinstance(value, bool):
            match: ColumnElement[bool] = and_(kind == "boolean", text == ("true" if value else "false"))
        elif isinstance(value, float):
            match = case((kind == "number", cast(text, Float) == value), else_=false())
        else:
            match = and_(kind == "string", text == value)
        return exists(select(literal(1)).select_from(rows).where(match))

    def substring(self, text: ColumnElement[str], value: str) -> ColumnElement[bool]:
        return func.strpos(text, literal(value)) > 0

    def tag_rows(self) -> tuple[FromClause, ColumnElement[str]]:
        rows = func.json_array_elements_text(users.c.tags).table_valued("value")
        value: ColumnElement[str] = rows.c.value
        return rows, value


def json_attributes(dialect: str) -> JsonAttributes:
    return SqliteJson() if dialect == "sqlite" else PostgresJson()
