"""deploy/prometheus/pushwise-rules.yml: valid for Prometheus, unit-tested, and equivalent to the built-ins.

`promtool` comes from Debian's `prometheus` package (`.ci/run` installs it); without it these
tests skip, and fail under PUSHWISE_REQUIRE_ALL=1.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from typing import Any

import promql_parser
import pytest

from pushwise.monitoring.rules import DEFAULT_RULES, Rule
from tests.conftest import missing
from tests.promql_usage import RULES, alerting_rules

pytestmark = pytest.mark.integration
# Prometheus needs two scrapes inside a window: shorter built-in windows widen to this.
SHORTEST_WINDOW = timedelta(minutes=1)


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        missing("promtool is not installed (apt-get install prometheus)")
    assert found is not None
    return found


def run(promtool: str, *args: str) -> str:
    result = subprocess.run(
        [promtool, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_promtool_accepts_the_rules(promtool: str) -> None:
    assert f"SUCCESS: {len(DEFAULT_RULES)} rules found" in run(promtool, "check", "rules", RULES.name)


def test_the_rules_pass_their_promtool_unit_tests(promtool: str) -> None:
    assert "SUCCESS" in run(promtool, "test", "rules", "pushwise-rules.test.yml")


def by_rule() -> dict[str, dict[str, Any]]:
    return {alert["labels"]["rule"]: alert for alert in alerting_rules()}


def numbers_compared(expr: str) -> set[float]:
    return {float(n) for n in re.findall(r"(?:[<>]=?|==)\s*([0-9.]+)\b", expr)}


def nodes(expr: str, kind: type) -> list[Any]:
    found: list[Any] = []
    promql_parser.walk(
        promql_parser.parse(expr), lambda node: found.append(node) if isinstance(node, kind) else None
    )
    return found


@pytest.mark.parametrize("rule", DEFAULT_RULES, ids=lambda r: r.name)
def test_each_default_rule_has_an_alert_with_its_threshold(rule: Rule) -> None:
    alert = by_rule()[rule.name]
    compared = numbers_compared(alert["expr"])
    assert rule.threshold in compared, (rule.name, compared)
    if rule.min_attempts:
        assert f">= {rule.min_attempts}" in alert["expr"]
    assert {"app", "channel"} <= {
        label for agg in nodes(alert["expr"], promql_parser.AggregateExpr) for label in agg.modifier.labels
    }


@pytest.mark.parametrize("rule", [r for r in DEFAULT_RULES if r.window_seconds and r.min_attempts])
def test_ratio_rules_look_over_the_built_in_window(rule: Rule) -> None:
    ranges = {m.range for m in nodes(by_rule()[rule.name]["expr"], promql_parser.MatrixSelector)}
    assert ranges == {max(timedelta(seconds=rule.window_seconds), SHORTEST_WINDOW)}


@pytest.mark.parametrize("rule", [r for r in DEFAULT_RULES if r.kind == "reason_spike"], ids=lambda r: r.name)
def test_the_reason_spike_counts_the_built_in_reasons(rule: Rule) -> None:
    matchers = [
        m
        for selector in nodes(by_rule()[rule.name]["expr"], promql_parser.VectorSelector)
        for m in selector.matchers.matchers
        if m.name == "reason"
    ]
    assert [set(m.value.split("|")) for m in matchers] == [set(rule.reasons)]


def test_there_is_one_alert_per_default_rule() -> None:
    assert sorted(by_rule()) == sorted(r.name for r in DEFAULT_RULES)
    assert len(alerting_rules()) == len(DEFAULT_RULES)
