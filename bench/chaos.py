"""Chaos scenarios at full size: faults struck while pushes go out, and what they cost.

Each scenario runs against a fresh PostgreSQL database and the provider simulators and
returns its figures (what was accepted, lost, repeated...); `--runs N` repeats it and
prints every run and the medians. The same scenarios run small in CI (`tests/chaos/`,
marked `chaos`); they live there, and this runner only sizes and repeats them.
Add a scenario with `@scenario("name")` on an `async def (args, workdir) -> figures`.

    python bench/chaos.py sigkill-campaign --devices 5000 --kills 1 --runs 3
    python bench/chaos.py sigkill-worker --devices 20000 --kills 10 --interval 3
    python bench/chaos.py sigkill-serve --devices 10000 --kills 5 --interval 4
    python bench/chaos.py postgres-restart --devices 20000 --down-seconds 5 --runs 3
    python bench/chaos.py full-disk --devices 1000 --disk-mib 64 --runs 3
    python bench/chaos.py outage-simulated --devices 5000 --outage-minutes 10 --runs 3
    python bench/chaos.py outage-wall --devices 5000 --outage-seconds 120 --runs 3
    python bench/chaos.py slow-provider --devices 40000 --window 60 --runs 3
    python bench/chaos.py slow-provider --devices 40000 --window 60 --runs 3 --slow-ms 0   # control
    python bench/chaos.py partition --devices 20000 --partition-seconds 15 --runs 3
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
from tests.chaos.full_disk import full_disk
from tests.chaos.postgres_faults import partition, postgres_restart
from tests.chaos.provider_outage import outage_on_simulated_clock, outage_on_wall_clock
from tests.chaos.slow_provider import slow_provider

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
    async with sigkill.world(args.postgres, workdir, args.devices, latency_ms=latency(args)) as world:
        figures = await sigkill.kill_under_load(
            world, target="worker", kills=args.kills, interval=args.interval, lease_seconds=args.lease
        )
        return asdict(figures)


@scenario("sigkill-serve")
async def sigkill_serve(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Steady load over HTTP; `pushwise serve` SIGKILLed and restarted every --interval seconds."""
    async with sigkill.world(args.postgres, workdir, args.devices, latency_ms=latency(args)) as world:
        figures = await sigkill.kill_under_load(
            world, target="serve", kills=args.kills, interval=args.interval, lease_seconds=args.lease
        )
        return asdict(figures)


@scenario("postgres-restart")
async def restart_postgres(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Two workers send one campaign; a PostgreSQL server of the run's own is stopped once a fifth
    is recorded, kept down --down-seconds, and started again (the shared server is never touched)."""
    return await postgres_restart(workdir, devices=args.devices, down_s=args.down_seconds)


@scenario("full-disk")
async def disk_full(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """`pushwise serve` on SQLite on a --disk-mib tmpfs that fills up while accepts go on (root)."""
    return await full_disk(workdir, disk_mib=args.disk_mib, devices=args.devices, backlog=args.devices)


@scenario("outage-simulated")
async def outage_simulated(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """APNs down for --outage-minutes on the simulated clock, the engine in-process."""
    return await outage_on_simulated_clock(workdir, devices=args.devices, outage_minutes=args.outage_minutes)


@scenario("outage-wall")
async def outage_wall(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """APNs down for --outage-seconds of real time under `pushwise serve`, accepts going on."""
    return await outage_on_wall_clock(workdir, devices=args.devices, outage_s=args.outage_seconds)


@scenario("slow-provider")
async def provider_slow(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One app's provider answers in 2 s during a campaign to --devices; another app's trickle
    is timed for --window seconds before and during."""
    return await slow_provider(workdir, slow_devices=args.devices, window_s=args.window, slow_ms=args.slow_ms)


@scenario("partition")
async def worker_database_partition(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """A worker's connections to PostgreSQL (through a TCP proxy) cut for --partition-seconds."""
    return await partition(workdir, args.postgres, devices=args.devices, partition_s=args.partition_seconds)


def latency(args: argparse.Namespace) -> tuple[int, int]:
    low, high = (int(part) for part in args.latency_ms.split(","))
    return low, high


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
    parser.add_argument("--down-seconds", type=float, default=3.0, help="postgres-restart: downtime")
    parser.add_argument("--disk-mib", type=int, default=64, help="full-disk: the tmpfs's size")
    parser.add_argument("--outage-minutes", type=float, default=10.0, help="outage-simulated: length")
    parser.add_argument("--outage-seconds", type=float, default=120.0, help="outage-wall: length")
    parser.add_argument("--window", type=float, default=60.0, help="slow-provider: each timed window")
    parser.add_argument(
        "--slow-ms", type=float, default=2000.0, help="slow-provider: its latency (0: the control run)"
    )
    parser.add_argument("--partition-seconds", type=float, default=10.0, help="partition: length")
    parser.add_argument(
        "--latency-ms", default="20,80", help="min,max provider latency under load: sends are in flight"
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
