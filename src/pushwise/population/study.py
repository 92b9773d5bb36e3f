"""A study: every strategy asked for, over K seeds, one run after another on the same simulators."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pushwise.population.builtin_model import ShopModel
from pushwise.population.contract import PopulationModel
from pushwise.population.runner import run_population
from pushwise.population.strategies import STRATEGIES, Strategy, strategy_named
from pushwise.population.world import Simulators


class ModelLoadError(ValueError):
    """`--model` does not name a callable that returns a population model."""


def load_model(spec: str | None, users: int, *, china: bool = False) -> Callable[[], PopulationModel]:
    """The model factory: the built-in shop sized `users` (its China Android population with
    `china`), or `package.module:factory`."""
    if not spec:
        return lambda: ShopModel(users, china=china)
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ModelLoadError(f"--model wants package.module:factory, not {spec!r}")
    # As `python -m` and uvicorn do: a model beside the caller is found without installing it.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ModelLoadError(f"cannot load {spec}: {error}") from error
    if not callable(factory):
        raise ModelLoadError(f"{spec} is not callable")

    def build() -> PopulationModel:
        model = factory()
        if not isinstance(model, PopulationModel):
            raise ModelLoadError(f"{spec}() returned no PopulationModel (users, day, react)")
        return model

    return build


def strategies_named(names: str) -> list[Strategy]:
    """`all`, or names separated by commas."""
    if names.strip() == "all":
        return list(STRATEGIES.values())
    return [strategy_named(name.strip()) for name in names.split(",") if name.strip()]


async def run_study(
    factory: Callable[[], PopulationModel],
    strategies: Sequence[Strategy],
    *,
    seeds: int,
    days: int,
    sims: Simulators,
    workdir: Path,
    postgres: str | None = None,
    on_day: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """`summary.json`'s document: {"strategies": {name: {"runs": [...]}}}, seeds 1..K.

    Every run gets a fresh model from the factory (its users keep state) and a fresh database:
    a SQLite file in `workdir`, or a new database on the PostgreSQL server of `postgres`.
    """
    summary: dict[str, Any] = {"strategies": {}}
    for strategy in strategies:
        runs = []
        for seed in range(1, seeds + 1):

            def tick(day: int, name: str = strategy.name, seed: int = seed) -> None:
                if on_day is not None:
                    on_day(name, seed, day)

            runs.append(
                await run_population(
                    factory(),
                    strategy,
                    seed=seed,
                    days=days,
                    sims=sims,
                    workdir=workdir,
                    database_url=await fresh_postgres(postgres, strategy.name, seed) if postgres else None,
                    on_day=tick,
                )
            )
        summary["strategies"][strategy.name] = {"summary": strategy.summary, "runs": runs}
    return summary


async def fresh_postgres(server_url: str, strategy: str, seed: int) -> str:
    """A new database on the server of `server_url` for one run (any former one of that name dropped)."""
    import asyncpg  # type: ignore[import-untyped]  # only a PostgreSQL study needs it here

    base = server_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"pushwise_population_{strategy.strip('+').replace('+', '_')}_{seed}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server_url.rsplit("/", 1)[0] + "/" + name
