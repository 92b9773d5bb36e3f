"""`pushwise demo`: the whole road on one machine, with realistic faults.

Starts an APNs simulator that fails some requests the way Apple does, runs
pushwise (API and workers) on SQLite, registers demo devices (some with dead
tokens), sends, and shows what happened to every delivery. Then it keeps going
(unless told not to): a trickle of notifications, and every few minutes an APNs
outage, so the dashboard and the alerts have something to show.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import tempfile
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.serving import delivery_services, prepare_database
from pushwise.settings import Settings
from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator

DEMO_FAULTS: dict[str, Any] = {
    "reasons": {"ServiceUnavailable": 0.04, "TooManyRequests": 0.02, "InternalServerError": 0.01},
    "retry_after_seconds": 1,
    "dead_token_prefix": "dead",
    "latency_ms": {"min": 1, "max": 15},
}
DEAD_SHARE = 0.05
TRICKLE_SECONDS = 2.0
TRICKLE_DEVICES = 25
OUTAGE_EVERY_SECONDS = 240.0
OUTAGE_SECONDS = 60.0
FINAL = ("delivered", "failed", "expired", "cancelled", "suppressed", "fallback")


@dataclass(frozen=True)
class DemoApp:
    app_id: str
    server_key: str
    device_ids: list[str]


def run_demo(
    *, devices: int, port: int, database_url: str, keep_running: bool = True, duration: float | None = None
) -> None:
    console = Console()
    workdir = tempfile.mkdtemp(prefix="pushwise-demo-")
    console.print(f"[bold]pushwise demo[/bold]: simulator and keys in {workdir}")
    simulator = start_apns_simulator(tls=True, faults=DEMO_FAULTS, seed=7, workdir=workdir)
    try:
        settings = Settings(
            database_url=database_url,
            admin_key="pw_admin_demo_" + secrets.token_hex(16),
            port=port,
            allow_private_endpoints=True,
            retry_base_seconds=0.5,
            retry_cap_seconds=5.0,
            retry_max_attempts=4,
            secret_key_file=f"{workdir}/pushwise.key",
            log_level="warning",
        )
        prepare_database(settings)
        asyncio.run(
            _demo(settings, simulator, devices, console, keep_running=keep_running, duration=duration)
        )
    finally:
        simulator.stop()


async def _demo(
    settings: Settings,
    simulator: ApnsSimulatorHandle,
    devices: int,
    console: Console,
    *,
    keep_running: bool,
    duration: float | None,
) -> None:
    services = build_services(settings)
    app = create_app(services, background=delivery_services(services))
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes no event for this
        await asyncio.sleep(0.05)
    base = f"http://{settings.host}:{settings.port}"
    console.print(
        f"pushwise API on {base} (OpenAPI UI at {base}/docs), APNs simulator on {simulator.endpoint}"
    )
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            demo_app = await _set_up(client, settings, simulator, devices, console)
            notification_id = await _send(client, demo_app, console)
            await _watch(client, demo_app, notification_id, devices, console)
            await _report(client, demo_app, notification_id, console)
            if keep_running:
                _how_to_watch(console, base, settings, demo_app)
                await _trickle(client, demo_app, simulator, devices, console, duration)
    finally:
        server.should_exit = True
        with suppress(asyncio.CancelledError):
            await serving
        await services.close()


async def _set_up(
    client: httpx.AsyncClient,
    settings: Settings,
    simulator: ApnsSimulatorHandle,
    devices: int,
    console: Console,
) -> DemoApp:
    admin = {"authorization": f"Bearer {settings.admin_key}"}
    created = (
        (await client.post("/v1/apps", json={"name": "demo shop"}, headers=admin)).raise_for_status().json()
    )
    app = DemoApp(created["id"], created["server_key"], [])
    headers = {"authorization": f"Bearer {app.server_key}"}
    (
        await client.put(
            f"/v1/apps/{app.app_id}/providers/apns",
            headers=headers,
            json={
                "team_id": simulator.team_id,
                "key_id": simulator.key_id,
                "private_key": simulator.private_key_pem,
                "topic": simulator.topic,
                "environment": "development",
                "endpoint": simulator.endpoint,
                "ca_file": simulator.ca_file,
            },
        )
    ).raise_for_status()
    dead = int(devices * DEAD_SHARE)
    rows = [
        {
            "platform": "ios",
            "user_id": f"shopper-{n}",
            "timezone": "Europe/Berlin",
            "token": ("dead" if n < dead else "a1a1") + secrets.token_hex(30),
        }
        for n in range(devices)
    ]
    for start in range(0, len(rows), 1000):
        answer = (
            await client.post(
                "/v1/devices:batch", headers=headers, json={"devices": rows[start : start + 1000]}
            )
        ).raise_for_status()
        app.device_ids.extend(str(item["id"]) for item in answer.json()["items"])
    console.print(f"registered {devices} iOS devices ({dead} with tokens Apple no longer knows)")
    return app


async def _send(client: httpx.AsyncClient, app: DemoApp, console: Console) -> str:
    headers = {"authorization": f"Bearer {app.server_key}", "idempotency-key": secrets.token_hex(8)}
    answer = (
        (
            await client.post(
                "/v1/notifications",
                headers=headers,
                json={
                    "to": {"all": True},
                    "content": {
                        "title": "Winter sale",
                        "body": "30% off boots until Sunday",
                        "url": "https://shop.example/boots",
                    },
                    "category": "marketing",
                    "ttl_seconds": 3600,
                },
            )
        )
        .raise_for_status()
        .json()
    )
    console.print(f"accepted notification {answer['id']} for {answer['recipients']} devices")
    return str(answer["id"])


async def _watch(
    client: httpx.AsyncClient, app: DemoApp, notification_id: str, total: int, console: Console
) -> None:
    headers = {"authorization": f"Bearer {app.server_key}"}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("deliveries with a final outcome", total=total)
        while True:
            counts = (await client.get(f"/v1/notifications/{notification_id}", headers=headers)).json()[
                "counts"
            ]
            done = sum(counts[state] for state in FINAL)
            progress.update(task, completed=done, total=sum(counts.values()))
            if done >= sum(counts.values()):
                return
            await asyncio.sleep(0.25)


async def _report(client: httpx.AsyncClient, app: DemoApp, notification_id: str, console: Console) -> None:
    headers = {"authorization": f"Bearer {app.server_key}"}
    tally: Counter[str] = Counter()
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get(
                f"/v1/notifications/{notification_id}/deliveries", headers=headers, params=params
            )
        ).json()
        for item in page["items"]:
            tally[_story(item)] += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    table = Table(title="What happened")
    table.add_column("outcome")
    table.add_column("deliveries", justify="right")
    for story, count in tally.most_common():
        table.add_row(story, str(count))
    console.print(table)


def _story(item: dict[str, Any]) -> str:
    reason = (item.get("last_error") or {}).get("reason")
    if item["state"] == "delivered":
        return "delivered after retries (recovered)" if item["attempts"] > 1 else "delivered first time"
    if item["state"] == "failed" and reason in ("Unregistered", "BadDeviceToken", "ExpiredToken"):
        return f"token dead, device pruned ({reason})"
    if item["state"] == "failed":
        return f"dead-lettered ({reason})"
    return f"{item['state']} ({reason})" if reason else item["state"]


def _how_to_watch(console: Console, base: str, settings: Settings, app: DemoApp) -> None:
    console.print(
        f"\n[bold]Dashboard:[/bold] {base}/dashboard  (log in with the admin key "
        f"[cyan]{settings.admin_key}[/cyan] or the app's server key [cyan]{app.server_key}[/cyan])\n"
        f"Metrics: {base}/metrics   Alerts: GET {base}/v1/apps/{app.app_id}/alerts\n"
        f"Sending a trickle of notifications; every {OUTAGE_EVERY_SECONDS:.0f} s APNs goes down for "
        f"{OUTAGE_SECONDS:.0f} s. Press Ctrl-C to stop."
    )


async def _trickle(
    client: httpx.AsyncClient,
    app: DemoApp,
    simulator: ApnsSimulatorHandle,
    devices: int,
    console: Console,
    duration: float | None,
) -> None:
    """A few notifications every couple of seconds, and a periodic outage the alerts should catch."""
    headers = {"authorization": f"Bearer {app.server_key}"}
    rng = random.Random(7)
    started = time.monotonic()
    down = False
    while duration is None or time.monotonic() - started < duration:
        phase = (time.monotonic() - started) % OUTAGE_EVERY_SECONDS
        outage = phase >= OUTAGE_EVERY_SECONDS - OUTAGE_SECONDS
        if outage != down:
            await simulator.aset_outage(outage)
            console.print("APNs outage [red]begins[/red]" if outage else "APNs outage [green]ends[/green]")
            down = outage
        chosen = rng.sample(app.device_ids, min(TRICKLE_DEVICES, devices))
        body = {"to": {"device_ids": chosen}, "content": {"title": "Still here", "body": "Today's deals"}}
        (await client.post("/v1/notifications", headers=headers, json=body)).raise_for_status()
        await asyncio.sleep(TRICKLE_SECONDS)
    if down:
        await simulator.aset_outage(False)
