"""SIGKILL under load on PostgreSQL, small enough for every CI run (`bench/chaos.py` runs it big).

Workers and `pushwise serve` are killed with no warning, several times, while pushes go
out; the APNs simulator's per-token counts show nothing accepted was lost, and how many
pushes went out twice (printed with `-s`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pushwise.delivery.worker import WorkerOptions
from tests.chaos.sigkill import Figures, kill_mid_campaign, kill_under_load, world

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def report(figures: Figures) -> None:
    print(
        f"\n{figures.scenario}: {figures.accepted} accepted, {figures.kills} SIGKILLs, "
        f"{figures.lost} lost, {figures.repeats} repeats (at most {figures.max_received} per token), "
        f"{figures.seconds:.1f} s"
    )


async def test_workers_killed_mid_campaign_lose_nothing(postgres_server: str, tmp_path: Path) -> None:
    async with world(postgres_server, tmp_path, 1500) as here:
        figures = await kill_mid_campaign(here, kills=2, lease_seconds=2.0)
    report(figures)
    assert figures.kills == 2
    assert figures.lost == 0
    # At most what a killed worker had sent and not yet recorded: its window, not its claims (4 x 500).
    assert figures.repeats <= WorkerOptions().max_in_flight * figures.kills


@pytest.mark.parametrize(
    ("target", "devices", "kills", "interval"), [("worker", 800, 3, 1.5), ("serve", 400, 2, 3.0)]
)
async def test_killed_again_and_again_under_steady_load_loses_nothing(
    postgres_server: str, tmp_path: Path, target: str, devices: int, kills: int, interval: float
) -> None:
    async with world(postgres_server, tmp_path, devices, latency_ms=(20, 80)) as here:
        figures = await kill_under_load(
            here, target=target, kills=kills, interval=interval, lease_seconds=2.0
        )
    report(figures)
    assert figures.kills == kills
    assert figures.accepted == devices  # the loader got every notification accepted, killed or not
    assert figures.lost == 0
