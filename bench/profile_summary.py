"""Where a delivery's CPU goes: py-spy's collapsed stacks of a `pushwise serve`, by component.

    BENCH_PROFILE=DIR python bench/bench_apns.py ...     (py-spy samples the campaign only)
    python bench/profile_summary.py DIR/<pid>.txt --loop-us 180 --db-us 60

A sample is charged to the innermost frame that names a component (a send's transport
call inside the provider inside the worker counts as transport), and the event loop's
µs per delivery (the main thread's CPU time, measured by the bench from /proc) is shared
out in proportion to its samples; likewise the database threads'. The bench samples with
`--gil` (only the thread holding the GIL, i.e. running Python): without it py-spy counts
a thread waiting for the GIL as busy. Samples are shares, not seconds, which is why they
are scaled to the measured CPU.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# (substring of a frame, component), innermost first wins; order matters only within one frame.
COMPONENTS = (
    ("structlog/", "log context binding"),
    ("contextlib.py", "log context binding"),
    ("pyreqwest_transport.py", "transport (pyreqwest call, lanes)"),
    ("providers/apns.py", "APNs provider (headers, outcome)"),
    ("domain/apns_message.py", "APNs provider (headers, outcome)"),
    ("apns_auth.py", "APNs provider (headers, outcome)"),
    ("monitoring/timing.py", "provider timing wrapper"),
    ("delivery/attempt.py", "attempt wrapper"),
    ("circuits.py", "circuits and rates"),
    ("domain/circuit.py", "circuits and rates"),
    ("delivery/rates.py", "circuits and rates"),
    ("domain/progress.py", "outcome to progress (per delivery objects)"),
    ("domain/backoff.py", "outcome to progress (per delivery objects)"),
    ("delivery/engagement.py", "engagement listener"),
    ("monitoring/tally.py", "metrics tally"),
    ("monitoring/vendor_quota.py", "other outcome listeners"),
    ("delivery/fallback.py", "other outcome listeners"),
    ("delivery/notices.py", "other outcome listeners"),
    ("delivery/receipts.py", "receipts"),
    ("delivery/routing.py", "routing"),
    ("delivery/gate.py", "gate (worker side)"),
    ("domain/gate/", "gate (worker side)"),
    ("store/gate_state.py", "gate (worker side)"),
    ("delivery/render.py", "render"),
    ("store/queue.py", "claim and record (rows, objects)"),
    ("store/claims.py", "claim and record (rows, objects)"),
    ("store/db.py", "database hand-off"),
    ("aiosqlite/", "database hand-off"),
    ("concurrent/futures", "database hand-off"),
    ("sqlalchemy/", "SQL (SQLAlchemy, SQLite)"),
    ("store/driver.py", "SQL (SQLAlchemy, SQLite)"),
    ("delivery/worker.py", "worker per delivery (_handle, dataclasses)"),
    ("<string>", "dataclass constructors"),
    ("uvicorn/", "HTTP API (progress polls, metrics)"),
    ("starlette/", "HTTP API (progress polls, metrics)"),
    ("fastapi/", "HTTP API (progress polls, metrics)"),
    ("pushwise/api/", "HTTP API (progress polls, metrics)"),
    ("pushwise/monitoring/", "monitoring loops"),
    ("asyncio/", "event loop, tasks, gather"),
)


def component(stack: list[str]) -> str:
    for frame in reversed(stack):
        for needle, name in COMPONENTS:
            if needle in frame:
                return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--loop-us", type=float, required=True, help="event loop CPU per delivery, µs")
    parser.add_argument("--db-us", type=float, required=True, help="database threads' CPU per delivery, µs")
    args = parser.parse_args()
    loop: Counter[str] = Counter()
    db: Counter[str] = Counter()
    for line in args.profile.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        (loop if frames[0].startswith("_run_module_as_main") else db)[component(frames)] += int(count)
    for title, counts, total_us in (("event loop", loop, args.loop_us), ("database threads", db, args.db_us)):
        samples = sum(counts.values())
        print(f"\n{title}: {total_us:.0f} µs per delivery, {samples} samples")
        for name, n in counts.most_common():
            print(f"  {name:48} {n / samples * total_us:6.1f} µs  {n / samples:6.1%}")


if __name__ == "__main__":
    main()
