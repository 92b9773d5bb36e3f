"""`pushwise simulate population`: run the study from the command line, with a progress bar."""

from __future__ import annotations

import asyncio
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pushwise.population.report import markdown, write_report
from pushwise.population.study import ModelLoadError, load_model, run_study, strategies_named
from pushwise.population.world import simulators


def population_command(
    users: Annotated[int, typer.Option(min=1, help="Users of the built-in model.")] = 1000,
    days: Annotated[int, typer.Option(min=1, help="Simulated days.")] = 90,
    strategy: Annotated[str, typer.Option(help="A strategy, several separated by commas, or all.")] = "all",
    seeds: Annotated[int, typer.Option(min=1, help="Runs per strategy, seeds 1..K.")] = 1,
    model: Annotated[
        str | None, typer.Option(help="package.module:factory returning a PopulationModel.")
    ] = None,
    population: Annotated[
        str,
        typer.Option(
            help="The built-in model's users: shop (seven markets) or china (Android phones without "
            "Google services, on Huawei, Honor, Xiaomi, OPPO and vivo, where FCM reaches no one)."
        ),
    ] = "shop",
    report: Annotated[
        Path | None, typer.Option(help="Write the report (Markdown, PNG, CSV, JSON) here.")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="A PostgreSQL server URL: each run gets its own new database there (default SQLite)."
        ),
    ] = None,
) -> None:
    """Simulate a shop's users through D days against the real engine, strategy by strategy."""
    console = Console(stderr=True)
    try:
        chosen = strategies_named(strategy)
        if population not in ("shop", "china"):
            raise ValueError(f"--population is shop or china, not {population!r}")
        factory = load_model(model, users, china=population == "china")
    except (ValueError, ModelLoadError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    total = len(chosen) * seeds * days
    began = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="pushwise-population-") as workdir,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task("starting simulators", total=total)

        def tick(name: str, seed: int, day: int) -> None:
            progress.update(task, advance=1, description=f"{name} seed {seed} day {day + 1}")

        with simulators(china=population == "china") as sims:
            summary: dict[str, Any] = asyncio.run(
                run_study(
                    factory,
                    chosen,
                    seeds=seeds,
                    days=days,
                    sims=sims,
                    workdir=Path(workdir),
                    postgres=database_url,
                    on_day=tick,
                )
            )
    summary["elapsed_seconds"] = round(time.perf_counter() - began, 1)
    command = "pushwise " + shlex.join(sys.argv[1:])
    if report is not None:
        written = write_report(summary, report, command=command)
        console.print(f"report: {written[0]}")
    print(markdown(summary, command=command))
    console.print(f"{total} simulated days in {summary['elapsed_seconds']} s")
