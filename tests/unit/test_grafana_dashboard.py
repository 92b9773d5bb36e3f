"""deploy/grafana/pushwise.json: queries that parse, honour the app and channel pickers, and name
in their legends only labels the query keeps. (What the queries read is checked against a live
`/metrics` in tests/integration/test_dashboard_metrics.py.)"""

from __future__ import annotations

from typing import Any

import promql_parser
import pytest

from tests.promql_usage import (
    dashboard,
    dashboard_targets,
    groupings,
    legend_labels,
    with_variables,
)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# The pickers are substituted with markers, so the test can see which matcher each one feeds.
PICKED = {"$app": "APP-PICKED", "$channel": "CHANNEL-PICKED"}


def panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    everything = dashboard()["panels"]
    assert len({p["id"] for p in everything}) == len(everything)
    cells: set[tuple[int, int]] = set()
    for panel in everything:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered


def test_every_panel_queries_the_chosen_prometheus_data_source() -> None:
    [source] = [v for v in dashboard()["templating"]["list"] if v["type"] == "datasource"]
    assert (source["name"], source["query"]) == ("datasource", "prometheus")
    for panel in panels():
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
        assert all(t["datasource"] == DATASOURCE for t in panel["targets"])


@pytest.mark.parametrize("target", dashboard_targets(), ids=lambda t: t["expr"].split("(")[0] + t["refId"])
def test_each_query_parses_and_follows_the_app_picker(target: dict[str, Any]) -> None:
    expr = target["expr"]
    for variable, marker in PICKED.items():
        expr = expr.replace(variable, marker)
    selectors: list[promql_parser.VectorSelector] = []
    promql_parser.walk(
        promql_parser.parse(with_variables(expr)),
        lambda node: selectors.append(node) if isinstance(node, promql_parser.VectorSelector) else None,
    )
    assert selectors
    for selector in selectors:
        matchers = {(m.name, m.value) for m in selector.matchers.matchers}
        assert ("app", PICKED["$app"]) in matchers, f"{selector.name} ignores the app picker"
        if selector.name != "pushwise_alerts_firing":  # alerts are per app and rule, not channel
            assert ("channel", PICKED["$channel"]) in matchers, f"{selector.name} ignores the channel picker"


@pytest.mark.parametrize("target", dashboard_targets(), ids=lambda t: t["expr"].split("(")[0] + t["refId"])
def test_legends_name_only_labels_the_query_keeps(target: dict[str, Any]) -> None:
    kept = groupings(with_variables(target["expr"]))
    assert kept, "every query aggregates, so its legend is defined"
    for grouping in kept:
        assert legend_labels(target) <= grouping, (target["legendFormat"], grouping)


def test_the_pickers_list_apps_and_channels_from_pushwise_metrics() -> None:
    pickers = {v["name"]: v for v in dashboard()["templating"]["list"] if v["type"] == "query"}
    assert set(pickers) == {"app", "channel"}
    for picker in pickers.values():
        assert picker["datasource"] == DATASOURCE
        assert picker["query"]["query"].startswith("label_values(pushwise_")
        assert picker["includeAll"]
        assert picker["multi"]
        assert picker["allValue"] == ".*"
