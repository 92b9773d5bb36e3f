"""Soak: N minutes of steady mixed load on a real `pushwise serve`, sampled every 10 s (issue 14 item 7).

One `pushwise serve` process (API, workers and scheduler) on a fresh SQLite file or a fresh
PostgreSQL database, delivering to the APNs and FCM simulators (each in its own process). An
open-loop load generator sends, at fixed rates whatever the answers do: notifications to one user
(both platforms), notifications to one device, a small broadcast to a tag segment, event batches,
device registrations and user upserts. Every `--sample` seconds it records the server's RSS, the
p50/p99 latency of the notification accepts in that window, the queue depth and the age of the
oldest due delivery (from `/metrics`: queue lag), and the delivery rate (deliveries recorded per
second, from `pushwise_deliveries_total`).

It writes the samples to a CSV and a PNG plot, then compares the last third of the run with the
first third after warm-up and checks the drift against the bounds below (exit status 1 if a bound
is broken). A benchmark, not a test: figures depend on the machine.

    python bench/soak.py --minutes 30 --out /tmp/soak          # soak.csv, soak.png in /tmp/soak
    python bench/soak.py --minutes 2 --warmup 20 --out /tmp/s  # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parent))

from bench_accept_latency import fresh_postgres
from bench_apns import PushwiseServer, percentile

from pushwise.simulators.apns.harness import start_apns_simulator
from pushwise.simulators.fcm.harness import FcmSimulatorHandle, start_fcm_simulator

# Drift bounds: last third of the run against the first third after warm-up (medians of samples).
RSS_GROWTH_MIB = 64.0  # the server's resident memory may grow at most this much
P99_GROWTH = 2.0  # p99 accept latency at most this factor higher (plus the slack below)
P99_SLACK_MS = 25.0
LAG_MAX_S = 15.0  # the oldest due delivery is never more than this old (median of the last third)
RATE_DROP = 0.10  # the delivery rate may fall at most 10 %
DEVICES_PER_PLATFORM = 500


@dataclass
class Load:
    """Requests per second of each kind; a broadcast every `broadcast_every` seconds."""

    user_sends: float = 8.0
    device_sends: float = 4.0
    event_batches: float = 2.0  # of 20 events each
    registrations: float = 2.0
    user_upserts: float = 2.0
    broadcast_every: float = 60.0


@dataclass
class Window:
    """What the load generator saw since the last sample."""

    accept_ms: list[float] = field(default_factory=list)
    errors: int = 0
    accepted: int = 0

    def take(self) -> Window:
        taken = Window(self.accept_ms, self.errors, self.accepted)
        self.accept_ms, self.errors, self.accepted = [], 0, 0
        return taken


def fcm_provider(sim: FcmSimulatorHandle) -> dict[str, Any]:
    return {
        "service_account": sim.service_account,
        "endpoint": sim.endpoint,
        "token_uri": sim.token_uri,
        "ca_file": sim.ca_file,
    }


def metric_sums(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """Sum (or, for `_age_`, the maximum) of each metric's samples over all label sets."""
    found: dict[str, float] = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in found:
            value = float(line.rsplit(" ", 1)[1])
            found[name] = max(found[name], value) if "_age_" in name else found[name] + value
    return found


DEPTH, LAG, DELIVERED = (
    "pushwise_queue_depth",
    "pushwise_queue_oldest_due_age_seconds",
    "pushwise_deliveries_total",
)


async def set_up(
    client: httpx.AsyncClient, server: PushwiseServer, apns: Any, fcm: Any
) -> tuple[dict[str, str], list[str]]:
    """An app on both simulators with DEVICES_PER_PLATFORM iPhones and Android phones, one user each:
    the server-key headers and the device ids."""
    app_id, headers = await server.apns_app(client, apns)
    (
        await client.put(
            f"{server.base}/v1/apps/{app_id}/providers/fcm", headers=headers, json=fcm_provider(fcm)
        )
    ).raise_for_status()
    devices = [
        {"platform": "ios", "token": f"{n:064x}", "user_id": f"u{n}"} for n in range(DEVICES_PER_PLATFORM)
    ] + [
        {"platform": "android", "token": f"soak-android-token-{n:020d}", "user_id": f"u{n}"}
        for n in range(DEVICES_PER_PLATFORM)
    ]
    device_ids: list[str] = []
    for start in range(0, len(devices), 500):
        batch = {"devices": devices[start : start + 500]}
        answer = await client.post(f"{server.base}/v1/devices:batch", headers=headers, json=batch)
        if answer.status_code != 200:
            raise RuntimeError(f"registering devices: {answer.status_code} {answer.text}")
        device_ids += [item["id"] for item in answer.json()["items"]]
    for n in range(0, DEVICES_PER_PLATFORM, 10):  # a tag the broadcast's segment selects (a tenth)
        body = {"tags": ["soak-fans"]}
        (await client.put(f"{server.base}/v1/users/u{n}", headers=headers, json=body)).raise_for_status()
    return headers, device_ids


def request_makers(base: str, device_ids: list[str], seed: int) -> dict[str, Callable[[], dict[str, Any]]]:
    """Each kind of request: method, URL and body, drawn from a seeded source."""
    rng = random.Random(seed)
    counter = itertools.count()

    def user_send() -> dict[str, Any]:
        user = f"u{rng.randrange(DEVICES_PER_PLATFORM)}"
        body = {"to": {"user_ids": [user]}, "content": {"title": "Order", "body": "Your order shipped"}}
        return {"method": "POST", "url": f"{base}/v1/notifications", "json": body, "accept": True}

    def device_send() -> dict[str, Any]:
        body = {
            "to": {"device_ids": [rng.choice(device_ids)]},
            "content": {"title": "Sale", "body": "Boots -20%"},
            "priority": "transactional",
            "ttl_seconds": 3600,
        }
        return {"method": "POST", "url": f"{base}/v1/notifications", "json": body, "accept": True}

    def broadcast() -> dict[str, Any]:
        rule = {"field": "tags", "op": "contains", "value": "soak-fans"}
        body = {"to": {"segment": {"rule": rule}}, "content": {"title": "News", "body": "New season"}}
        return {"method": "POST", "url": f"{base}/v1/notifications", "json": body, "accept": True}

    def events() -> dict[str, Any]:
        batch = [
            {
                "id": f"soak-{next(counter)}",
                "type": rng.choice(["app_open", "item_viewed", "opened", "added_to_cart"]),
                "user_id": f"u{rng.randrange(DEVICES_PER_PLATFORM)}",
                "category": rng.choice(["shoes", "bags", "hats"]),
            }
            for _ in range(20)
        ]
        return {"method": "POST", "url": f"{base}/v1/events", "json": {"events": batch}, "accept": False}

    def registration() -> dict[str, Any]:
        n = next(counter)
        body = {
            "platform": "android",
            "token": f"soak-new-android-token-{n:020d}",
            "user_id": f"new{n % 5000}",
        }
        return {"method": "POST", "url": f"{base}/v1/devices", "json": body, "accept": False}

    def upsert() -> dict[str, Any]:
        user = f"u{rng.randrange(DEVICES_PER_PLATFORM)}"
        body = {"attributes": {"visits": rng.randrange(1000)}, "timezone": "Europe/Paris"}
        return {"method": "PUT", "url": f"{base}/v1/users/{user}", "json": body, "accept": False}

    return {
        "user_sends": user_send,
        "device_sends": device_send,
        "broadcast": broadcast,
        "event_batches": events,
        "registrations": registration,
        "user_upserts": upsert,
    }


async def open_loop(
    rate: float,
    make: Callable[[], dict[str, Any]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
    stop: float,
) -> None:
    """Start one request every 1/rate seconds until `stop`, without waiting for the answers."""
    if rate <= 0:
        return
    interval = 1.0 / rate
    next_at = time.monotonic()
    pending: set[asyncio.Task[None]] = set()
    while next_at < stop:
        task = asyncio.create_task(send(make()))
        pending.add(task)
        task.add_done_callback(pending.discard)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    if pending:
        await asyncio.wait(pending)


async def sample_loop(
    client: httpx.AsyncClient,
    server: PushwiseServer,
    window: Window,
    every: float,
    stop: float,
    rows: list[dict[str, float]],
) -> None:
    process = psutil.Process(server.process.pid)
    began = time.monotonic()
    last_delivered: float | None = None
    next_at = began + every
    while next_at <= stop + 0.001:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        taken = window.take()
        metrics = metric_sums((await client.get(f"{server.base}/metrics")).text, (DEPTH, LAG, DELIVERED))
        delivered = metrics[DELIVERED]
        rate = 0.0 if last_delivered is None else (delivered - last_delivered) / every
        last_delivered = delivered
        row = {
            "t_s": round(next_at - began, 1),
            "rss_mib": process.memory_info().rss / 2**20,
            "accepts": taken.accepted,
            "errors": taken.errors,
            "p50_accept_ms": percentile(taken.accept_ms, 0.50) if taken.accept_ms else 0.0,
            "p99_accept_ms": percentile(taken.accept_ms, 0.99) if taken.accept_ms else 0.0,
            "queue_depth": metrics[DEPTH],
            "queue_lag_s": metrics[LAG],
            "delivery_rate": rate,
        }
        rows.append(row)
        print(
            " ".join(
                f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}"
                for key, value in row.items()
            ),
            flush=True,
        )
        next_at += every


async def run(args: argparse.Namespace) -> list[dict[str, float]]:
    workdir = tempfile.mkdtemp(prefix="pushwise-soak-")
    apns = start_apns_simulator(tls=True, seed=1, workdir=f"{workdir}/apns", engine="granian")
    fcm = start_fcm_simulator(tls=True, seed=2, workdir=f"{workdir}/fcm")
    env = {"PUSHWISE_API_RATE_LIMIT": "100000", "PUSHWISE_API_RATE_LIMIT_PER_IP": "100000"}
    if args.postgres:
        env["PUSHWISE_DATABASE_URL"] = await fresh_postgres(args.postgres, "pushwise_soak")
    server = PushwiseServer(workdir, args.port, env)
    rows: list[dict[str, float]] = []
    try:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:
            await server.wait_ready(client)
            headers, device_ids = await set_up(client, server, apns, fcm)
            makers = request_makers(server.base, device_ids, seed=args.seed)
            window = Window()

            async def send(request: dict[str, Any]) -> None:
                began = time.perf_counter()
                try:
                    answer = await client.request(
                        request["method"], request["url"], json=request["json"], headers=headers
                    )
                    ok = answer.status_code < 300
                except httpx.HTTPError:
                    ok = False
                if not ok:
                    window.errors += 1
                elif request["accept"]:
                    window.accept_ms.append((time.perf_counter() - began) * 1000)
                    window.accepted += 1

            stop = time.monotonic() + args.minutes * 60
            load = Load()
            rates = {kind: getattr(load, kind) for kind in makers if kind != "broadcast"}
            rates["broadcast"] = 1.0 / load.broadcast_every
            await asyncio.gather(
                sample_loop(client, server, window, args.sample, stop, rows),
                *(open_loop(rate, makers[kind], send, stop) for kind, rate in rates.items()),
            )
    finally:
        server.stop()
        apns.stop()
        fcm.stop()
    return rows


def write_csv(rows: list[dict[str, float]], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict[str, float]], path: Path, title: str) -> None:
    import matplotlib  # the bench extra; never imported by the server

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [row["t_s"] / 60 for row in rows]
    panels = [
        ("rss_mib", "server RSS (MiB)"),
        ("p99_accept_ms", "p99 accept latency (ms)"),
        ("queue_lag_s", "oldest due delivery (s)"),
        ("delivery_rate", "deliveries recorded per s"),
    ]
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 10), sharex=True)
    for axis, (key, label) in zip(axes, panels, strict=True):
        axis.plot(minutes, [row[key] for row in rows], linewidth=1)
        axis.set_ylabel(label)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    axes[-1].set_xlabel("minutes")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def drift(rows: list[dict[str, float]], warmup_s: float) -> list[tuple[str, float, float, str, bool]]:
    """(measure, first third, last third, bound, held) for each drift bound."""
    steady = [row for row in rows if row["t_s"] > warmup_s]
    third = max(1, len(steady) // 3)
    first, last = steady[:third], steady[-third:]

    def median(part: list[dict[str, float]], key: str) -> float:
        return statistics.median(row[key] for row in part)

    rss = (median(first, "rss_mib"), median(last, "rss_mib"))
    p99 = (median(first, "p99_accept_ms"), median(last, "p99_accept_ms"))
    lag = (median(first, "queue_lag_s"), median(last, "queue_lag_s"))
    rate = (median(first, "delivery_rate"), median(last, "delivery_rate"))
    return [
        ("RSS (MiB)", *rss, f"grows < {RSS_GROWTH_MIB:.0f} MiB", rss[1] - rss[0] < RSS_GROWTH_MIB),
        (
            "p99 accept (ms)",
            *p99,
            f"< {P99_GROWTH:.0f}x first + {P99_SLACK_MS:.0f} ms",
            p99[1] < P99_GROWTH * p99[0] + P99_SLACK_MS,
        ),
        ("queue lag (s)", *lag, f"< {LAG_MAX_S:.0f} s", lag[1] < LAG_MAX_S),
        ("delivery rate (/s)", *rate, f"falls < {RATE_DROP:.0%}", rate[1] >= (1 - RATE_DROP) * rate[0]),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=120.0, help="seconds left out of the drift figures")
    parser.add_argument("--out", default=".", help="directory for soak.csv and soak.png")
    parser.add_argument("--port", type=int, default=18190)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on PostgreSQL, e.g. postgresql://postgres@127.0.0.1/postgres (a fresh database)",
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = asyncio.run(run(args))
    write_csv(rows, out / "soak.csv")
    engine = "PostgreSQL" if args.postgres else "SQLite"
    plot(rows, out / "soak.png", f"pushwise serve on {engine}, {args.minutes:g} min of mixed load")
    errors = sum(int(row["errors"]) for row in rows)
    accepts = sum(int(row["accepts"]) for row in rows)
    print(f"\n{accepts} notifications accepted, {errors} requests failed; load average {os.getloadavg()}")
    print(f"{'measure':<20} {'first third':>12} {'last third':>12}  bound")
    held = True
    for measure, first, last, bound, ok in drift(rows, args.warmup):
        held &= ok
        print(f"{measure:<20} {first:>12.1f} {last:>12.1f}  {bound} {'ok' if ok else 'BROKEN'}")
    print(f"wrote {out / 'soak.csv'} and {out / 'soak.png'}")
    return 0 if held and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
