"""Journey conditions: segment rules, plus what the journey itself knows about the run.

A branch's `if` (and a trigger's `where`) is a segment rule (docs/audience.md) whose
leaves may also be:

- `{"field": "did.<event type>", "op": "exists", "value": true|false}`: the user did (or
  did not do) that since entering the journey (`did.purchased`);
- `{"field": "event.<name>", "op", "value"}`: a field of the event that started the run
  (`event.category`, `event.value`, `event.properties.sku`), compared with `=`, `!=`,
  `<`, `<=`, `>`, `>=`, `in`, `exists`, `contains`.

Profile leaves are evaluated by the store for a whole batch of runs at once (one query
per distinct leaf, through the segment compiler); these two kinds come from the run.
`holds` combines them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from pushwise.domain.audience.event_types import is_known_type

Path = str


class ConditionInvalid(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _journey_leaf(rule: Mapping[str, Any]) -> bool:
    name = rule.get("field")
    return isinstance(name, str) and (name.startswith("did.") or name.startswith("event."))


def profile_leaves(rule: Any, path: str = "if") -> dict[Path, Mapping[str, Any]]:
    """The segment leaves of `rule` by path (checked for the journey leaves' own shape)."""
    if not isinstance(rule, Mapping):
        raise ConditionInvalid(path, "a rule is an object")
    found: dict[Path, Mapping[str, Any]] = {}
    if "all" in rule or "any" in rule:
        word = "all" if "all" in rule else "any"
        clauses = rule[word]
        if not isinstance(clauses, list) or not clauses:
            raise ConditionInvalid(f"{path}.{word}", "a non-empty list of rules")
        for index, clause in enumerate(clauses):
            found.update(profile_leaves(clause, f"{path}.{word}[{index}]"))
        return found
    if "not" in rule:
        return profile_leaves(rule["not"], f"{path}.not")
    if _journey_leaf(rule):
        _check_journey_leaf(rule, path)
        return {}
    return {path: rule}


def _check_journey_leaf(rule: Mapping[str, Any], path: str) -> None:
    name, op = str(rule["field"]), rule.get("op")
    if name.startswith("did."):
        if not is_known_type(name[4:]):
            raise ConditionInvalid(f"{path}.field", "did.<event type>, e.g. did.purchased")
        if op != "exists" or not isinstance(rule.get("value", True), bool):
            raise ConditionInvalid(f"{path}.op", 'did.* takes "exists" with true or false')
    elif op not in ("=", "!=", "<", "<=", ">", ">=", "in", "exists", "contains"):
        raise ConditionInvalid(f"{path}.op", "=, !=, <, <=, >, >=, in, exists or contains")


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the store found for one run: its profile leaves' answers, what it did, its event."""

    profile: Mapping[Path, bool] = field(default_factory=dict)
    did: Collection[str] = frozenset()  # event types since the run entered
    event: Mapping[str, Any] = field(default_factory=dict)


def holds(rule: Mapping[str, Any], facts: RunFacts, path: str = "if") -> bool:
    if "all" in rule:
        return all(holds(c, facts, f"{path}.all[{i}]") for i, c in enumerate(rule["all"]))
    if "any" in rule:
        return any(holds(c, facts, f"{path}.any[{i}]") for i, c in enumerate(rule["any"]))
    if "not" in rule:
        return not holds(rule["not"], facts, f"{path}.not")
    if not _journey_leaf(rule):
        return facts.profile.get(path, False)
    name = str(rule["field"])
    if name.startswith("did."):
        return (name[4:] in facts.did) == bool(rule.get("value", True))
    return _compare(_lookup(facts.event, name[6:].split(".")), str(rule.get("op")), rule.get("value"))


def _lookup(values: Mapping[str, Any], steps: list[str]) -> Any:
    current: Any = values
    for step in steps:
        current = current.get(step) if isinstance(current, Mapping) else None
    return current


def _compare(value: Any, op: str, expected: Any) -> bool:
    if op == "exists":
        return (value is not None) == bool(expected if expected is not None else True)
    if op == "=":
        return bool(value == expected)
    if op == "!=":
        return bool(value != expected)
    if op == "in":
        return isinstance(expected, list) and value in expected
    if op == "contains":
        return isinstance(value, list | str) and isinstance(expected, str) and expected in value
    numbers = (int, float)
    if not isinstance(value, numbers) or not isinstance(expected, numbers) or isinstance(value, bool):
        return False
    return {
        "<": value < expected,
        "<=": value <= expected,
        ">": value > expected,
        ">=": value >= expected,
    }.get(op, False)
