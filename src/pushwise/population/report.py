"""The study's report (`--report DIR`): summary.json, CSV, Markdown and, with matplotlib, PNG plots.

Intervals are 95% Student-t intervals of the mean over seeds (one value per run), so they say
how much the figure moves between simulated populations, not how precise one run is.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Two-sided 95% Student-t quantiles by degrees of freedom (1-30); beyond that the normal's 1.96.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
METRICS = (
    "pushes_sent",
    "pushes_delivered",
    "pushes_failed",
    "pushes_expired",
    "opened",
    "clicked",
    "conversions",
    "push_conversions",
    "revenue",
    "opt_outs",
    "uninstalls",
    "retained_at_end",
)
RETAINED = (
    "installed and active (any app event) within the last 14 days; everyone counts as active the day before"
)


def interval(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high): the 95% interval of the mean; one value gives a zero-width interval."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean, mean
    t = _T95[len(values) - 2] if len(values) - 1 <= len(_T95) else 1.96
    half = t * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def ctr(run: dict[str, Any]) -> float:
    return run["clicked"] / run["pushes_delivered"] if run["pushes_delivered"] else 0.0


def write_report(summary: dict[str, Any], directory: Path, *, command: str) -> list[Path]:
    """Write every file of the report; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "summary.json", directory / "runs.csv", directory / "daily.csv"]
    written[0].write_text(json.dumps(summary, indent=1))
    _runs_csv(summary, written[1])
    _daily_csv(summary, written[2])
    written += _plots(summary, directory)
    report = directory / "report.md"
    report.write_text(
        markdown(summary, command=command, plots=[p.name for p in written if p.suffix == ".png"])
    )
    return [report, *written]


def _runs_csv(summary: dict[str, Any], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["strategy", "seed", "users", "days", *METRICS, "ctr"])
        for name, entry in summary["strategies"].items():
            for run in entry["runs"]:
                row = [run.get(metric, "") for metric in METRICS]
                writer.writerow([name, run["seed"], run["users"], run["days"], *row, round(ctr(run), 5)])


def _daily_csv(summary: dict[str, Any], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        names = ("opened", "clicked", "conversions", "revenue", "opt_outs", "uninstalls")
        writer.writerow(["strategy", "seed", "day", "retained", *(f"cumulative_{n}" for n in names)])
        for strategy, entry in summary["strategies"].items():
            for run in entry["runs"]:
                daily = run.get("daily", {})
                for day, retained in enumerate(run["retention_curve"]):
                    values = [daily.get(n, [0.0] * (day + 1))[day] for n in names]
                    writer.writerow([strategy, run["seed"], day + 1, retained, *values])


def _cell(values: Sequence[float], digits: int) -> str:
    mean, low, high = interval(values)
    if low == high:
        return f"{mean:,.{digits}f}"
    return f"{mean:,.{digits}f} [{low:,.{digits}f}, {high:,.{digits}f}]"


def markdown(summary: dict[str, Any], *, command: str, plots: Sequence[str] = ()) -> str:
    strategies = summary["strategies"]
    first = next(iter(strategies.values()))["runs"][0]
    seeds = len(next(iter(strategies.values()))["runs"])
    lines = [
        "# Population study",
        "",
        f"`{command}`: {first['users']:,} users, {first['days']} days, {seeds} seed(s) per strategy. "
        "Cells: mean over seeds [95% interval of the mean].",
        "",
        "| strategy | retained at end | conversions | revenue | opt-outs | uninstalls "
        "| delivered | failed | CTR |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in strategies.items():
        runs = entry["runs"]

        def column(metric: str, digits: int = 0, runs: list[dict[str, Any]] = runs) -> str:
            return _cell([float(r.get(metric, 0)) for r in runs], digits)

        lines.append(
            f"| {name} | {_cell([r['retained_at_end'] * 100 for r in runs], 1)}% | {column('conversions')} "
            f"| {column('revenue')} | {column('opt_outs')} | {column('uninstalls')} "
            f"| {column('pushes_delivered')} | {column('pushes_failed')} "
            f"| {_cell([ctr(r) * 100 for r in runs], 2)}% |"
        )
    lines += ["", *_comparisons(strategies), "", f"Retained: {RETAINED}.", ""]
    lines += ["## Strategies", ""] + [f"- `{name}`: {entry['summary']}" for name, entry in strategies.items()]
    for plot in plots:
        lines += ["", f"![{plot}]({plot})"]
    lines += ["", "Per-run figures: `runs.csv`; per day: `daily.csv`; everything: `summary.json`.", ""]
    return "\n".join(lines)


def _mean(runs: list[dict[str, Any]], metric: str) -> float:
    return statistics.fmean(float(r[metric]) for r in runs)


def _comparisons(strategies: dict[str, Any]) -> list[str]:
    """The case's figures: what failing costs against healthy, split into technical failure
    (failing against blast: the same daily blast on a sound provider) and volume and
    irrelevance (blast against healthy); and whether full is Pareto-better than blast."""
    runs = {name: entry["runs"] for name, entry in strategies.items()}
    lines: list[str] = []
    if {"healthy", "failing"} <= runs.keys():
        lines.append("## What failing costs")
        lines.append("")
        for metric, label in (("retained_at_end", "retention"), ("revenue", "sales (revenue)")):
            healthy, failing = _mean(runs["healthy"], metric), _mean(runs["failing"], metric)
            loss = 1 - failing / healthy if healthy else 0.0
            text = f"- {label}: failing is {loss:.1%} below healthy"
            if "blast" in runs:
                blast = _mean(runs["blast"], metric)
                technical, fatigue = (blast - failing) / healthy, (healthy - blast) / healthy
                text += (
                    f" ({technical:.1%} of healthy from technical failure, failing vs blast; "
                    f"{fatigue:.1%} from volume and irrelevance, blast vs healthy)"
                )
            lines.append(text)
    if {"full", "blast"} <= runs.keys():
        full, blast = runs["full"], runs["blast"]
        opt_full, opt_blast = _mean(full, "opt_outs"), _mean(blast, "opt_outs")
        clicks = _mean(full, "clicked") >= _mean(blast, "clicked")
        conversions = _mean(full, "conversions") >= _mean(blast, "conversions")
        pareto = opt_full <= opt_blast / 2 and clicks and conversions
        lines += [
            "",
            "## Full against blast",
            "",
            f"- opt-outs {opt_full:,.0f} vs {opt_blast:,.0f} (at most half: {opt_full <= opt_blast / 2}); "
            f"clicks no fewer: {clicks}; conversions no fewer: {conversions}; Pareto-better: {pareto}",
        ]
    return lines


def _plots(summary: dict[str, Any], directory: Path) -> list[Path]:
    """Retention curves and cumulative outcomes per strategy (mean over seeds), if matplotlib is there."""
    try:
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return []
    written = []
    panels = (
        ("retention", "retained share"),
        ("opt_outs", "users who turned pushes off"),
        ("conversions", "conversions (cumulative)"),
        ("revenue", "revenue (cumulative)"),
    )
    for key, label in panels:
        figure, axes = plt.subplots(figsize=(7, 4))
        for name, entry in summary["strategies"].items():
            curves = [
                run["retention_curve"] if key == "retention" else run["daily"][key] for run in entry["runs"]
            ]
            mean = [statistics.fmean(day) for day in zip(*curves, strict=True)]
            axes.plot(range(1, len(mean) + 1), mean, label=name)
        axes.set_xlabel("day")
        axes.set_ylabel(label)
        axes.legend(fontsize="small")
        path = directory / f"{key}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written
