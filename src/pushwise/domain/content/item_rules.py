"""`pick.from`: which catalogue items a pick may choose, in the rule shape segments use.

`{"all": [...]}`, `{"any": [...]}`, `{"not": rule}` or a leaf `{"field", "op", "value"}`
over the item's fields: `category`, `tags`, `price`, `currency`, `stock`,
`launched_days` (whole days since launch) or any other field given at `PUT
/v1/catalog/items` (`brand`, ...). Ops: `=`, `!=`, `<`, `<=`, `>`, `>=`, `in`,
`exists`, `contains` (a tag, or a substring of a text field). Parsed once per
notification; a bad rule is refused at the API with the path of the bad clause.
Items are few enough to filter in memory (they are the pick's candidates already).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from pushwise.domain.content.picks import DAY, Item

OPS = frozenset({"=", "!=", "<", "<=", ">", ">=", "in", "exists", "contains"})
ItemTest = Callable[[Item, float], bool]


class ItemRuleInvalid(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def parse_item_rule(rule: Any, path: str = "pick.from") -> ItemTest:
    if not isinstance(rule, Mapping):
        raise ItemRuleInvalid(path, "a rule is an object: all, any, not, or {field, op, value}")
    if "all" in rule or "any" in rule:
        word = "all" if "all" in rule else "any"
        clauses = rule[word]
        if not isinstance(clauses, list) or not clauses:
            raise ItemRuleInvalid(f"{path}.{word}", "a non-empty list of rules")
        tests = [parse_item_rule(clause, f"{path}.{word}[{i}]") for i, clause in enumerate(clauses)]
        if word == "all":
            return lambda item, now: all(test(item, now) for test in tests)
        return lambda item, now: any(test(item, now) for test in tests)
    if "not" in rule:
        inner = parse_item_rule(rule["not"], f"{path}.not")
        return lambda item, now: not inner(item, now)
    return _leaf(rule, path)


def _value_of(item: Item, name: str, now: float) -> Any:
    if name == "launched_days":
        return None if item.launched_at is None else math.floor((now - item.launched_at) / DAY)
    return item.fields.get(name)


def _leaf(rule: Mapping[str, Any], path: str) -> ItemTest:
    name, op = rule.get("field"), rule.get("op")
    expected: Any = rule.get("value")
    if not isinstance(name, str) or not name:
        raise ItemRuleInvalid(f"{path}.field", "name an item field")
    if op not in OPS:
        raise ItemRuleInvalid(f"{path}.op", f"one of {', '.join(sorted(OPS))}")
    if op == "in" and not isinstance(expected, list):
        raise ItemRuleInvalid(f"{path}.value", "'in' takes a list")
    if op in ("<", "<=", ">", ">=") and (not isinstance(expected, int | float) or isinstance(expected, bool)):
        raise ItemRuleInvalid(f"{path}.value", f"'{op}' compares with a number")
    bound = float(expected) if op in ("<", "<=", ">", ">=") else 0.0

    choices: list[Any] = list(expected) if op == "in" else []

    def test(item: Item, now: float) -> bool:
        value = _value_of(item, name, now)
        if op == "exists":
            return (value is not None) == bool(expected if expected is not None else True)
        if value is None:
            return bool(op == "!=")
        if op == "=":
            return bool(value == expected)
        if op == "!=":
            return bool(value != expected)
        if op == "in":
            return value in choices
        if op == "contains":
            return expected in value if isinstance(value, list | str) else False
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        number = float(value)
        return {"<": number < bound, "<=": number <= bound, ">": number > bound, ">=": number >= bound}[op]

    return test
