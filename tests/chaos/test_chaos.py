"""The chaos scenarios at CI sizes (a few minutes in all); `bench/chaos.py` runs them bigger.

Each scenario asserts its own invariants (nothing accepted lost, nothing recorded twice, the
answers it allows) and returns its figures, printed here (`pytest -s`) for the record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.full_disk import can_mount, full_disk
from tests.chaos.postgres_faults import partition, postgres_restart
from tests.chaos.postgres_instance import postgres_bin
from tests.chaos.provider_outage import outage_on_simulated_clock, outage_on_wall_clock
from tests.chaos.slow_provider import slow_provider
from tests.conftest import missing

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def report(name: str, figures: dict[str, Any]) -> None:
    print(f"\n{name}: {json.dumps(figures)}")


async def test_sqlite_on_a_full_disk(tmp_path: Path) -> None:
    if not can_mount():
        missing("mounting a small tmpfs for the full-disk scenario needs root and mount(8)")
    report("full disk", await full_disk(tmp_path, disk_mib=32, devices=100, backlog=150))


async def test_a_ten_minute_provider_outage_on_the_simulated_clock(tmp_path: Path) -> None:
    report(
        "outage, simulated clock", await outage_on_simulated_clock(tmp_path, devices=100, outage_minutes=10)
    )


async def test_a_provider_outage_on_the_wall_clock(tmp_path: Path) -> None:
    report("outage, wall clock", await outage_on_wall_clock(tmp_path, devices=100, outage_s=10))


async def test_a_provider_answering_in_two_seconds(tmp_path: Path) -> None:
    report("slow provider", await slow_provider(tmp_path, slow_devices=1000, window_s=10))


async def test_postgres_restarted_mid_campaign(tmp_path: Path, postgres_server: str) -> None:
    if postgres_bin() is None:
        missing("PostgreSQL's initdb and pg_ctl are needed to run a server of the test's own")
    report("postgres restart", await postgres_restart(tmp_path, devices=2000))


async def test_a_partition_between_worker_and_database(tmp_path: Path, postgres_server: str) -> None:
    report("partition", await partition(tmp_path, postgres_server, devices=2000, partition_s=8))
