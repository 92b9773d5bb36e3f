"""The population study end to end, small: the real engine, store and providers against the
simulators, on a simulated clock, with the built-in model and with an outside one."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from pushwise.population.builtin_model import ShopModel
from pushwise.population.report import write_report
from pushwise.population.strategies import strategy_named
from pushwise.population.study import load_model, run_study
from pushwise.population.world import Simulators, simulators

pytestmark = pytest.mark.integration

PINNED = {
    "seed", "users", "days", "pushes_sent", "pushes_delivered", "opened", "clicked",
    "conversions", "revenue", "opt_outs", "uninstalls", "retained_at_end", "retention_curve",
}  # fmt: skip


@pytest.fixture(scope="module")
def sims() -> Iterator[Simulators]:
    with simulators(seed=3) as handles:
        yield handles


async def test_failing_and_healthy_through_the_real_engine(sims: Simulators, tmp_path: Path) -> None:
    days = 3
    summary = await run_study(
        lambda: ShopModel(60),
        [strategy_named("healthy"), strategy_named("failing"), strategy_named("full")],
        seeds=1,
        days=days,
        sims=sims,
        workdir=tmp_path,
    )
    runs = {name: entry["runs"][0] for name, entry in summary["strategies"].items()}
    for run in runs.values():
        assert run.keys() >= PINNED
        assert (run["users"], run["days"], len(run["retention_curve"])) == (60, days, days)
        assert run["opened"] <= run["pushes_delivered"] <= run["pushes_sent"]
        assert run["clicked"] <= run["pushes_delivered"]
        assert 0.0 <= run["retained_at_end"] <= 1.0
        assert run["events_posted"] > 0
    # Failing sends daily with faults and no retries: some pushes fail; healthy's sound provider loses none
    # to faults (only to tokens its users killed), and sends on Tuesday only in these three days.
    assert runs["failing"]["pushes_failed"] > 0
    assert runs["failing"]["pushes_sent"] > runs["healthy"]["pushes_sent"] > 0
    # The gate holds some of full's daily pushes back (caps, quiet hours).
    assert runs["full"]["pushes_held_back"] > 0
    written = write_report(summary, tmp_path / "report", command="pushwise simulate population (test)")
    assert (tmp_path / "report" / "summary.json") in written
    assert "| failing |" in (tmp_path / "report" / "report.md").read_text()
    if importlib.util.find_spec("matplotlib") is not None:  # the `population` extra
        assert (tmp_path / "report" / "retention.png") in written


async def test_an_outside_model_goes_through_the_same_path(sims: Simulators, tmp_path: Path) -> None:
    factory = load_model("tests.population_models:small", users=999)
    summary = await run_study(
        factory, [strategy_named("blast")], seeds=2, days=2, sims=sims, workdir=tmp_path
    )
    runs = summary["strategies"]["blast"]["runs"]
    assert [run["seed"] for run in runs] == [1, 2]
    assert all(run["users"] == 40 for run in runs)  # the outside model picks its own size
    assert all(run["pushes_delivered"] > 0 for run in runs)


async def test_china_android_population_is_reached_only_through_the_phone_makers(tmp_path: Path) -> None:
    """Issue 19's population option: FCM reaches none of these phones; vendor routes do."""
    with simulators(seed=4, china=True) as china:
        summary = await run_study(
            load_model(None, 50, china=True),
            [strategy_named("blast"), strategy_named("reliable")],
            seeds=1,
            days=2,
            sims=china,
            workdir=tmp_path,
        )
    blast, reliable = (summary["strategies"][name]["runs"][0] for name in ("blast", "reliable"))
    assert blast["pushes_sent"] > 0
    assert blast["pushes_delivered"] == 0
    assert reliable["pushes_delivered"] > 0
