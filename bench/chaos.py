"""Chaos scenarios at full size: faults struck while pushes go out, and what they cost.

Each scenario runs against a fresh PostgreSQL database and the provider simulators and
returns its figures (what was accepted, lost, repeated...); `--runs N` repeats it and
prints every run and the medians. The same scenarios run small in CI (`tests/chaos/`,
marked `chaos`); they live there, and this runner only sizes and repeats them.
Add a scenario with `@scenario("name")` on an `async def (args, workdir) -> figures`.

    python bench/chaos.py sigkill-campaign --devices 5000 --kills 1 --runs 3
    python bench/chaos.py sigkill-worker --devices 20000 --kills 10 --interval 3
    python bench/chaos.py sigkill-serve --devices 10000 --kills 5 --interval 4
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the scenarios live in tests/chaos/

from tests.chaos import sigkill

Scenario = Callable[[argparse.Namespace, Path], Awaitable[dict[str, Any]]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(run: Scenario) -> Scenario:
        SCENARIOS[name] = run
        return run

    return register


@scenario("sigkill-campaign")
async def sigkill_campaign(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Two workers at default settings send one notification to every device; one is SIGKILLed
    once 30% are recorded (then restarted and killed again further on, with --kills > 1)."""
    async with sigkill.world(args.postgres, workdir, args.devices, simulator_engine="granian") as world:
        return asdict(await sigkill.kill_mid_campaign(world, kills=args.kills, lease_seconds=args.lease))


@scenario("sigkill-worker")
async def sigkill_worker(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Steady load; one of two workers SIGKILLed and restarted every --interval seconds."""
    async with sigkill.world(args.postgres, workdir, args.devices, simulator_engine="granian") as world:
        figures = await sigkill.kill_under_load(
            world, target="worker", kills=args.kills, interval=args.interval, lease_seconds=args.lease
        )
        return asdict(figures)


@scenario("sigkill-serve")
async def sigkill_serve(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Steady load over HTTP; `pushwise serve` SIGKILLed and restarted every --interval seconds."""
    async with sigkill.world(args.postgres, workdir, args.devices, simulator_engine="granian") as world:
        figures = await sigkill.kill_under_load(
            world, target="serve", kills=args.kills, interval=args.interval, lease_seconds=args.lease
        )
        return asdict(figures)


def print_runs(name: str, runs: list[dict[str, Any]]) -> None:
    columns = list(runs[0])
    print(f"# {name}: {len(runs)} run(s)")
    print("\t".join(columns))
    for run in runs:
        print("\t".join(str(run[column]) for column in columns))
    numeric = [c for c in columns if all(isinstance(run[c], int | float) for run in runs)]
    if len(runs) > 1:
        print("median\t" + "\t".join(f"{c}={statistics.median(run[c] for run in runs):g}" for c in numeric))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=1)
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between kills under load")
    parser.add_argument(
        "--lease", type=float, default=5.0, help="worker lease: how soon a dead one's work returns"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(await SCENARIOS[args.scenario](args, Path(tmp)))
        print(runs[-1], flush=True)
    print_runs(args.scenario, runs)


if __name__ == "__main__":
    asyncio.run(main())
