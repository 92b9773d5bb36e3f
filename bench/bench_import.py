"""`pushwise import devices` on SQLite: a generated CSV of N rows (default 1,000,000; issue target:
under 2 minutes), against the raw ceiling in the same run.

Each round, on a fresh migrated database in a temp dir:
- raw: the same rows written with bare `sqlite3` `executemany` (users, then device upserts, one
  transaction per batch, the server's pragmas): what SQLite itself costs, with no checks;
- import: `pushwise import devices FILE` as a user runs it (a new process: start-up, migration
  check, every row checked as `POST /v1/devices` checks it, progress bar, summary);
- again: the same command on the same file (idempotent: every row is an update, nothing new).

The file mixes iOS (a third of them with a tag), FCM and Web Push devices, two devices per user.
Prints the median of the rounds with CPU seconds; the machine may be shared, so compare ratios.

    python bench/bench_import.py --rows 1000000 --rounds 3
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import random
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pushwise.store import migrate

BATCH = 2000


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_keys(count: int) -> list[str]:
    """Real P-256 points (the import checks each browser key is one), drawn from a pool."""
    points = []
    for _ in range(count):
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        points.append(b64(key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)))
    return points


def generate(path: Path, rows: int, rng: random.Random) -> None:
    pool = public_keys(256)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["platform", "token", "subscription", "user_id", "timezone", "locale", "tags"])
        for n in range(rows):
            user = f"user-{n // 2}"
            kind = n % 6
            if kind in (0, 3):
                tags = '["vip"]' if kind == 0 else ""
                out.writerow(["ios", f"{rng.getrandbits(256):064x}", "", user, "Europe/Paris", "fr-FR", tags])
            elif kind in (1, 4):
                token = b64(rng.randbytes(96))
                out.writerow(["android", token, "", user, "Asia/Shanghai", "zh-CN", ""])
            else:
                subscription = json.dumps(
                    {
                        "endpoint": f"https://fcm.googleapis.com/fcm/send/{b64(rng.randbytes(48))}",
                        "keys": {"p256dh": rng.choice(pool), "auth": b64(rng.randbytes(16))},
                    }
                )
                out.writerow(["web", "", subscription, user, "", "en-US", ""])


def child_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def raw_ceiling(database: Path, source: Path) -> Timing:
    """Bare sqlite3: the rows as tuples, users inserted, device rows upserted; no validation."""
    started, cpu = time.perf_counter(), time.process_time()
    connection = sqlite3.connect(database, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute("INSERT INTO apps (id, name, created_at) VALUES ('app_raw', 'raw', 0)")
    with source.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        connection.execute("BEGIN IMMEDIATE")
        users = {row["user_id"]: f"usr_{secrets.token_hex(16)}" for row in batch}
        connection.executemany(
            "INSERT INTO users (id, app_id, external_id, attributes, tags, created_at, updated_at) "
            "VALUES (?, 'app_raw', ?, '{}', '[]', 0, 0) ON CONFLICT (app_id, external_id) DO NOTHING",
            [(user_id, external) for external, user_id in users.items()],
        )
        connection.executemany(
            "INSERT INTO devices (id, app_id, platform, token, subscription, user_id, timezone, locale, "
            "active, last_seen_at, created_at, updated_at) "
            "VALUES (?, 'app_raw', ?, ?, ?, ?, ?, ?, 1, 0, 0, 0) "
            "ON CONFLICT (app_id, platform, token) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            [
                (
                    f"dev_{secrets.token_hex(16)}",
                    row["platform"],
                    row["token"] or json.loads(row["subscription"])["endpoint"],
                    row["subscription"] or None,
                    users[row["user_id"]],
                    row["timezone"] or None,
                    row["locale"] or None,
                )
                for row in batch
            ],
        )
        connection.execute("COMMIT")
    connection.close()
    return Timing(time.perf_counter() - started, time.process_time() - cpu)


def pushwise_import(database: Path, source: Path) -> tuple[Timing, str]:
    env = {**os.environ, "PUSHWISE_DATABASE_URL": f"sqlite:///{database}", "PUSHWISE_LOG_LEVEL": "warning"}
    started, cpu = time.perf_counter(), child_cpu()
    result = subprocess.run(
        [sys.executable, "-m", "pushwise", "import", "devices", str(source), "--batch-size", str(BATCH)],
        env=env,
        cwd=database.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    timing = Timing(time.perf_counter() - started, child_cpu() - cpu)
    if result.returncode != 0:
        raise SystemExit(
            f"import failed ({result.returncode}): {result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return timing, result.stdout.strip().splitlines()[-1]


def create_app(database: Path) -> None:
    env = {**os.environ, "PUSHWISE_DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run(
        [sys.executable, "-m", "pushwise", "apps", "create", "bench"],
        env=env,
        cwd=database.parent,
        capture_output=True,
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    options = parser.parse_args()
    results: dict[str, list[Timing]] = {"raw": [], "import": [], "again": []}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as home:
        source = Path(home) / "devices.csv"
        generate(source, options.rows, random.Random(options.seed))
        print(f"{options.rows:,} rows, {source.stat().st_size / 1e6:.0f} MB CSV, batches of {BATCH}")
        for round_number in range(1, options.rounds + 1):
            raw_db, db = Path(home) / f"raw-{round_number}.db", Path(home) / f"import-{round_number}.db"
            migrate.upgrade(f"sqlite:///{raw_db}")
            results["raw"].append(raw_ceiling(raw_db, source))
            create_app(db)
            first, summary = pushwise_import(db, source)
            again, summary_again = pushwise_import(db, source)
            results["import"].append(first)
            results["again"].append(again)
            print(
                f"round {round_number}: raw {results['raw'][-1].wall:.1f} s, import {first.wall:.1f} s "
                f"({summary}), again {again.wall:.1f} s ({summary_again})"
            )
            for path in Path(home).glob(f"*-{round_number}.db*"):
                path.unlink()
    raw_median = statistics.median(t.wall for t in results["raw"])
    print(f"\n{'run':<8}{'median s':>10}{'rows/s':>12}{'CPU s':>9}{'x raw':>8}")
    for name, timings in results.items():
        wall = statistics.median(t.wall for t in timings)
        cpu = statistics.median(t.cpu for t in timings)
        print(f"{name:<8}{wall:>10.1f}{options.rows / wall:>12,.0f}{cpu:>9.1f}{wall / raw_median:>8.2f}")
    print(f"\ntarget: {options.rows:,} rows imported in under 120 s on SQLite (median import above)")


if __name__ == "__main__":
    main()
