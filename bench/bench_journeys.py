"""The journey engine at scale: 100,000 users enter an abandoned-cart journey (issue 12).

In-process on the real store (SQLite by default, `--postgres URL` for PostgreSQL), the real
event log and the real campaign runner on a simulated clock: users are made with SQL, their
`added_to_cart` events go through `UserEventLog.ingest` in batches of 1,000 (entering the
journey in the same transactions), then the clock moves one hour and the leader's sweep takes
every run through its wait to its first reminder (one notification per 10,000 users, planned to
their inboxes), then a day, for the second. Printed: time to ingest and enter, time per sweep,
runs per second, and the process's RSS before and after (memory flat: the runs never enter
Python all at once). The ceiling: the same events stored by the same log with no journey.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))

from bench_accept_latency import fresh_postgres

from pushwise.bootstrap import build_services
from pushwise.domain.clock import ManualClock
from pushwise.serving import campaign_service
from pushwise.settings import Settings
from pushwise.store.apps import AppRepository
from pushwise.store.migrate import upgrade
from pushwise.store.schema import users
from pushwise.store.user_events import NewEvent, UserEventLog

HOUR, DAY = 3600.0, 86_400.0
REMINDER = {"content": {"title": "Your cart misses you"}, "fallback": {"channels": ["inbox"]}}


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


async def one_run(url: str, count: int, with_journey: bool) -> dict[str, float]:
    clock = ManualClock()
    services = build_services(
        Settings(database_url=url, secret_key="bench-journeys-0123456789abcdef", monitoring=False),
        clock=clock,
        rng=random.Random(1),
    )
    try:
        app_id = (await AppRepository(services.db, clock).create_with_keys("bench")).app.id
        now = clock.now()
        rows = [
            {
                "id": f"usr-{i}",
                "app_id": app_id,
                "external_id": f"u{i}",
                "attributes": {},
                "tags": [],
                "created_at": now,
                "updated_at": now,
                "first_seen_at": now,
            }
            for i in range(count)
        ]
        await services.db.transact(lambda conn: conn.execute(users.insert(), rows))
        if with_journey:
            await services.engine.campaigns.create(
                app_id,
                "carts",
                "journey",
                {
                    "journey": {
                        "trigger": {"event": "added_to_cart"},
                        "exit": {"event": "purchased"},
                        "steps": [
                            {"wait_seconds": HOUR},
                            {"notify": REMINDER},
                            {"wait_seconds": DAY},
                            {
                                "if": {"field": "did.purchased", "op": "exists", "value": False},
                                "then": [{"notify": REMINDER}],
                            },
                        ],
                    }
                },
                now,
                trigger="added_to_cart",
            )
        log = UserEventLog(services.db, services.audience.learning, late_window=7 * DAY)
        rss_before = rss_mib()
        started = time.perf_counter()
        for start in range(0, count, 1000):
            events = [
                NewEvent(index=i - start, key=f"cart-{i}", type="added_to_cart", user=f"u{i}", at=now)
                for i in range(start, min(count, start + 1000))
            ]
            await log.ingest(app_id, events, now)
        figures = {"ingest_s": time.perf_counter() - started}
        if with_journey:
            runner = campaign_service(services).runner
            await runner.sweep()  # every run reaches its first wait
            clock.advance(HOUR)
            started = time.perf_counter()
            await runner.sweep()  # the first reminders
            figures["first_timer_s"] = time.perf_counter() - started
            clock.advance(DAY)
            started = time.perf_counter()
            await runner.sweep()  # the second ones
            figures["second_timer_s"] = time.perf_counter() - started
        figures["rss_before_mib"] = rss_before
        figures["rss_after_mib"] = rss_mib()
        figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return figures
    finally:
        await services.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="e.g. postgresql://postgres@127.0.0.1/postgres")
    args = parser.parse_args()
    results = {}
    for with_journey in (False, True):
        if args.postgres:
            url = await fresh_postgres(args.postgres, f"pushwise_journeys_{int(with_journey)}")
        else:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='pushwise-journeys-')}/bench.db"
            await asyncio.to_thread(upgrade, url)
        results[with_journey] = await one_run(url, args.users, with_journey)
    plain, journey = results[False], results[True]
    n = args.users
    print(f"{n:,} users, {'PostgreSQL' if args.postgres else 'SQLite'}:")
    lines = [
        ("events stored without a journey", plain["ingest_s"], "events"),
        ("events stored, runs entered", journey["ingest_s"], "events"),
        ("first reminders (1 h timer)", journey["first_timer_s"], "runs"),
        ("second reminders (24 h timer)", journey["second_timer_s"], "runs"),
    ]
    for label, seconds, unit in lines:
        print(f"  {label + ':':34} {seconds:6.1f} s ({n / seconds:,.0f} {unit}/s)")
    before, after, peak = journey["rss_before_mib"], journey["rss_after_mib"], journey["peak_rss_mib"]
    print(f"  RSS {before:.0f} MiB before the events, {after:.0f} MiB after the timers (peak {peak:.0f} MiB)")


if __name__ == "__main__":
    asyncio.run(main())
