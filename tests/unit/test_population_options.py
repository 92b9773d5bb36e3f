"""`pushwise simulate population`'s choices refused before any simulator starts, and the study's
plug-in loading (`--model package.module:factory`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pushwise.population import PopulationModel
from pushwise.population.strategies import STRATEGIES
from pushwise.population.study import ModelLoadError, load_model, strategies_named


def test_strategies_by_name_or_all() -> None:
    assert [s.name for s in strategies_named("failing, full")] == ["failing", "full"]
    assert [s.name for s in strategies_named("all")] == list(STRATEGIES)
    with pytest.raises(ValueError, match="unknown strategy 'loud'"):
        strategies_named("loud")


def test_a_model_is_loaded_from_module_and_factory() -> None:
    model = load_model("tests.population_models:small", users=5)()
    assert isinstance(model, PopulationModel)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tests.population_models", "package.module:factory"),
        ("tests.nowhere:factory", "cannot load"),
        ("tests.population_models:CATEGORIES", "not callable"),
        ("tests.population_models:ZONES", "not callable"),
    ],
)
def test_a_bad_model_is_refused_with_a_reason(spec: str, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        load_model(spec, users=5)()


def test_a_factory_returning_something_else_is_refused() -> None:
    with pytest.raises(ModelLoadError, match="no PopulationModel"):
        load_model("builtins:dict", users=5)()


@pytest.mark.parametrize("options", [["--strategy", "loud"], ["--population", "mars"]])
def test_the_command_refuses_bad_choices_with_exit_code_2(options: list[str]) -> None:
    command = [sys.executable, "-m", "pushwise", "simulate", "population", "--days", "1", *options]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert finished.returncode == 2, finished.stderr
