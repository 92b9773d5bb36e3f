"""Which metrics, and which of their labels, the Grafana dashboard and the Prometheus alerting rules read.

Both files are written against pushwise's `/metrics`; a renamed metric or label would leave
a panel empty or an alert silent without any error. The tests compare what these queries
read with what a running pushwise exports.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import promql_parser
import yaml

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "pushwise.json"
RULES = ROOT / "deploy" / "prometheus" / "pushwise-rules.yml"

# What Grafana puts in place of the dashboard's variables before it sends a query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$app": ".*", "$channel": ".*"}
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")
_LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")

Usage = dict[str, set[str]]


def with_variables(text: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        text = text.replace(variable, value)
    return text


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def alerting_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_targets() -> list[dict[str, Any]]:
    return [target for panel in dashboard()["panels"] for target in panel.get("targets", [])]


def dashboard_usage() -> Usage:
    """Metric -> labels over every panel query, template variable and legend."""
    usage: Usage = defaultdict(set)
    for target in dashboard_targets():
        read = expression_usage(with_variables(target["expr"]))
        _merge(usage, read)
        for metric in read:  # a legend names labels of the series the query returns
            usage[metric] |= legend_labels(target)
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            match = _LABEL_VALUES.match(with_variables(variable["query"]["query"]))
            assert match, f"variable {variable['name']}: only label_values(selector, label) is understood"
            for metric, labels in expression_usage(match["selector"]).items():
                usage[metric] |= labels | {match["label"]}
    return dict(usage)


def rules_usage() -> Usage:
    usage: Usage = defaultdict(set)
    for rule in alerting_rules():
        _merge(usage, expression_usage(rule["expr"]))
    return dict(usage)


def expression_usage(expr: str) -> Usage:
    """Metric -> label names the expression matches on, groups by or joins on."""
    usage: Usage = defaultdict(set)
    _visit(promql_parser.parse(expr), frozenset(), usage)
    return dict(usage)


def legend_labels(target: dict[str, Any]) -> set[str]:
    return set(_LEGEND_LABEL.findall(target.get("legendFormat", "")))


def groupings(expr: str) -> list[set[str]]:
    """The `by (...)` labels of every aggregation in the expression, outermost first."""
    found: list[set[str]] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            found.append(set(node.modifier.labels) if _is(node.modifier.type, "By") else set())

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def _is(kind: Any, name: str) -> bool:
    return str(kind).rpartition(".")[2] == name


def _merge(into: Usage, other: Usage) -> None:
    for metric, labels in other.items():
        into.setdefault(metric, set()).update(labels)


def _visit(node: Any, inherited: frozenset[str], usage: Usage) -> None:
    """`inherited`: labels an enclosing `by (...)` or `on (...)` needs the series below to carry."""
    if isinstance(node, promql_parser.VectorSelector):
        usage[node.name] |= {m.name for m in node.matchers.matchers if m.name != "__name__"} | inherited
    elif isinstance(node, promql_parser.MatrixSelector):
        _visit(node.vector_selector, inherited, usage)
    elif isinstance(node, promql_parser.AggregateExpr):
        modifier = node.modifier
        grouped = set(modifier.labels) if modifier is not None and _is(modifier.type, "By") else set()
        _visit(node.expr, inherited | grouped, usage)
    elif isinstance(node, promql_parser.BinaryExpr):
        matching = node.modifier.matching if node.modifier is not None else None
        joined = set(matching.labels) if matching is not None and _is(matching.type, "Include") else set()
        _visit(node.lhs, inherited | joined, usage)
        _visit(node.rhs, inherited | joined, usage)
    elif isinstance(node, promql_parser.Call) and node.func.name == "label_replace":
        # label_replace(v, dst, replacement, src, regex) makes `dst` from `src`: the series read carry `src`
        _, destination, _, source, _ = (getattr(argument, "val", None) for argument in node.args)
        _visit(node.args[0], (inherited - {destination}) | {source}, usage)
    elif isinstance(node, promql_parser.Call):
        for argument in node.args:
            _visit(argument, inherited, usage)
    elif isinstance(
        node,
        promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr,
    ):
        _visit(node.expr, inherited, usage)
