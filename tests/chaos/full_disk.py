"""SQLite on a full disk: refuse clearly, corrupt nothing, deliver everything once space returns.

`pushwise serve` keeps its SQLite database on a small tmpfs of its own. With the provider down (so
a backlog waits in the queue) the disk is filled to the last byte while accepts keep coming: every
one is answered `202` (stored) or `503 storage_full` (nothing kept), never anything else. The
provider comes back while the disk is still full (sends go out but their outcomes cannot be
recorded), then the space is freed: every accepted delivery ends delivered exactly once in the
database, the provider's extra copies are counted, and `PRAGMA integrity_check` says `ok`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pushwise.simulators.apns import start_apns_simulator
from tests.chaos.live_server import LiveServer

CHUNK = 1 << 16


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@contextlib.contextmanager
def small_disk(size_mib: int) -> Iterator[Path]:
    """A tmpfs of `size_mib` MiB mounted for the scenario (needs root), unmounted afterwards."""
    point = Path(tempfile.mkdtemp(prefix="pushwise-chaos-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(point)], check=True)
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)
        point.rmdir()


def fill(path: Path) -> int:
    """Write `path` until the file system has no byte left; returns the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as filler:
        for size in (CHUNK, 1):  # big blocks, then the last bytes one at a time
            block = b"\0" * size
            while True:
                try:
                    written += filler.write(block)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    return written


def database_states(db_path: Path) -> dict[str, int]:
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = connection.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
        return {state: n for state, n in rows}
    finally:
        connection.close()


def integrity(db_path: Path) -> str:
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


async def full_disk(
    workdir: Path,
    *,
    disk_mib: int = 32,
    devices: int = 200,
    backlog: int = 200,
    attempts_when_full: int = 3000,
) -> dict[str, Any]:
    with (
        small_disk(disk_mib) as disk,
        start_apns_simulator(tls=True, seed=11, workdir=str(workdir / "apns")) as simulator,
    ):
        db_path = disk / "pushwise.db"
        server = LiveServer(workdir, f"sqlite:///{db_path}")
        try:
            await server.wait_ready()
            app = await server.apns_app(simulator)
            device_ids = await server.register(app, [f"{n:064x}" for n in range(devices)])
            await simulator.aset_outage(True)

            accepted = 0
            statuses: Counter[str] = Counter()

            async def accept(n: int) -> bool:
                nonlocal accepted
                body = {"to": {"device_ids": [device_ids[n % devices]]}, "content": {"body": f"order {n}"}}
                answer = await server.send(app, body)
                if answer.status_code == 202:
                    accepted += answer.json()["recipients"]
                    statuses["202"] += 1
                    return True
                code = answer.json()["error"]["code"]
                statuses[f"{answer.status_code} {code}"] += 1
                assert answer.status_code == 503, answer.text
                assert code == "storage_full", answer.text
                assert answer.headers.get("retry-after"), "a 503 says when to retry"
                return False

            for n in range(backlog):
                assert await accept(n), "the disk is not full yet"
            filled = await asyncio.to_thread(fill, disk / "filler")
            refused_after = None
            for n in range(backlog, backlog + attempts_when_full):
                if not await accept(n) and refused_after is None:
                    refused_after = n - backlog
                if refused_after is not None and statuses["503 storage_full"] >= 20:
                    break
            assert refused_after is not None, "the full disk never refused an accept"
            assert server.process.poll() is None, "the server died of the full disk"

            await simulator.aset_outage(False)  # sends go out; their outcomes cannot be written yet
            await asyncio.sleep(3)
            os.remove(disk / "filler")
            began = time.monotonic()
            while database_states(db_path) != {"delivered": accepted}:
                assert server.process.poll() is None, "the server died"
                assert time.monotonic() - began < 600, f"not all delivered: {database_states(db_path)}"
                await asyncio.sleep(0.5)
            drained_s = time.monotonic() - began
            extra = (await simulator.astats())["delivered"] - accepted
        finally:
            await server.stop()
        check = integrity(db_path)
        assert check == "ok", check
        return {
            "accepted": accepted,
            "accepted_on_the_full_disk_before_refusing": refused_after,
            "answers": dict(statuses),
            "filler_mib": round(filled / 2**20, 1),
            "delivered_after_space_returned_s": round(drained_s, 1),
            "provider_extra_copies": extra,
            "integrity_check": check,
        }
