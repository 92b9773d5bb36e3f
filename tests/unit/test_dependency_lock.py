"""The hashed lock CI installs from (requirements/test.txt) must cover what pyproject.toml asks for.

CI installs the lock with `--require-hashes` before the README's `pip install -e '.[test]'`; a
dependency added to pyproject.toml but not to the lock would then be installed unpinned and
unhashed without anyone noticing. This test notices, and says the one command that fixes it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "test.txt"
REGENERATE = "run `bash requirements/lock.sh` and commit requirements/test.txt"
TESTED_EXTRAS = ("test", "uplift", "population")  # what the README's test command installs
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in project["dependencies"]]
    for extra in TESTED_EXTRAS:
        wanted += [Requirement(text) for text in project["optional-dependencies"][extra]]
    return [
        r for r in wanted if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in TESTED_EXTRAS)
    ]


def _entries() -> list[str]:
    """The lock's requirement entries, each with its continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", LOCK.read_text())
    return [line for line in joined.splitlines() if line and not line.lstrip().startswith("#")]


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for entry in _entries():
        match = _PIN.match(entry)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_every_declared_dependency_is_pinned_in_the_lock() -> None:
    pins = _pins()
    problems = []
    for requirement in _declared():
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement} does not admit the locked {pinned}")
    assert not problems, f"{LOCK.name} is stale: {'; '.join(problems)}; {REGENERATE}"


def test_every_entry_is_an_exact_pin_with_hashes() -> None:
    entries = _entries()
    assert len(entries) > 20, "the lock should hold the whole dependency tree"
    loose = [entry.split()[0] for entry in entries if not _PIN.match(entry) or "--hash=sha256:" not in entry]
    assert not loose, f"entries without an exact pin and hashes: {loose}; {REGENERATE}"
