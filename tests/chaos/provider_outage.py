"""A provider outage: circuits hold the queue, nothing is dead-lettered within its TTL, all of it
is delivered after recovery.

Two clocks. On the simulated clock (`ManualClock`, the engine in-process at default retry settings)
the APNs simulator answers 503 to everything for ten simulated minutes while the worker runs its
claims at every step: a notification whose TTL outlives the outage must wait (its circuit open,
attempts not spent) and then be delivered; one whose TTL ends inside the outage must expire, not
fail. On the wall clock a real `pushwise serve` meets the same outage for minutes of real time
while accepts keep coming in.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

from pushwise.bootstrap import build_services
from pushwise.delivery.engine import AcceptRequest
from pushwise.domain.clock import ManualClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.settings import Settings
from pushwise.simulators.apns import start_apns_simulator
from pushwise.store import migrate
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from tests.chaos.live_server import LiveServer
from tests.integration.apns_app import app_sending_to

STEP_S = 15.0  # simulated seconds between worker rounds


async def outage_on_simulated_clock(
    workdir: Path, *, devices: int = 200, outage_minutes: float = 10.0
) -> dict[str, Any]:
    url = f"sqlite:///{workdir / 'outage.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        database_url=url, secret_key="chaos-outage-secret-0123456789abcdef", allow_private_endpoints=True
    )
    clock = ManualClock(start=time.time())
    services = build_services(settings, clock=clock, rng=random.Random(14))
    with start_apns_simulator(
        tls=True, seed=14, workdir=str(workdir / "apns"), faults={"token_max_age_s": None}
    ) as sim:
        try:
            app_id = await app_sending_to(services, sim, "shop")
            registered = await DeviceRepository(services.db, clock).register_many(
                app_id, [DeviceRegistration("ios", f"{n:064x}") for n in range(devices)]
            )
            target = Target(device_ids=tuple(r.device.id for r in registered))
            outage_s = outage_minutes * 60
            sim.set_outage(True)
            lasting = await services.engine.accept(
                app_id,
                AcceptRequest(
                    NotificationSpec(Content(body="outlives the outage"), ttl_seconds=int(4 * outage_s)),
                    target,
                ),
            )
            short = await services.engine.accept(
                app_id,
                AcceptRequest(
                    NotificationSpec(Content(body="dies in the outage"), ttl_seconds=int(outage_s / 2)),
                    target,
                ),
            )
            worker = services.engine.worker()
            circuit_seen: set[str] = set()
            began = clock.now()
            first_round: int | None = None
            while clock.now() - began < outage_s:
                while await worker.run_once():
                    pass
                circuit_seen.add(services.engine.circuits.states().get((app_id, "apns"), "closed"))
                if first_round is None:
                    first_round = sim.stats()["total"]
                clock.advance(STEP_S)
            during = await services.engine.notifications.counts(lasting.id)
            requests_in_outage = sim.stats()["total"]
            waiting = {state for state, n in during.items() if n}
            assert waiting <= {"queued", "retrying", "sending"}, during  # none failed or expired
            assert during.get("delivered", 0) == 0, during
            assert "open" in circuit_seen, circuit_seen

            sim.set_outage(False)
            recovered_at = clock.now()
            rounds = 0
            while (await services.engine.notifications.counts(lasting.id)).get("delivered", 0) < devices:
                rounds += 1
                assert rounds < 400, await services.engine.notifications.counts(lasting.id)
                while await worker.run_once():
                    pass
                clock.advance(STEP_S)
            lasting_counts = {
                k: v for k, v in (await services.engine.notifications.counts(lasting.id)).items() if v
            }
            short_counts = {
                k: v for k, v in (await services.engine.notifications.counts(short.id)).items() if v
            }
            assert lasting_counts == {"delivered": devices}, lasting_counts
            assert short_counts == {"expired": devices}, short_counts
            return {
                "devices": devices,
                "outage_simulated_min": outage_minutes,
                "requests_to_provider_in_outage": requests_in_outage,
                "first_attempts_refused": first_round,
                "probes_while_open": requests_in_outage - (first_round or 0),
                "circuit_states_seen": sorted(circuit_seen),
                "ttl_beyond_outage": lasting_counts,
                "ttl_within_outage": short_counts,
                "simulated_s_to_deliver_after_recovery": round(clock.now() - recovered_at, 1),
            }
        finally:
            await services.close()


async def outage_on_wall_clock(
    workdir: Path, *, devices: int = 200, outage_s: float = 120.0, accepts_per_s: float = 2.0
) -> dict[str, Any]:
    with start_apns_simulator(tls=True, seed=15, workdir=str(workdir / "apns")) as sim:
        server = LiveServer(workdir, f"sqlite:///{workdir / 'outage.db'}")
        try:
            await server.wait_ready()
            app = await server.apns_app(sim)
            device_ids = await server.register(app, [f"{n:064x}" for n in range(devices)])
            await sim.aset_outage(True)
            ids = [
                (
                    await server.send(app, {"to": {"device_ids": device_ids}, "content": {"body": "sale"}})
                ).json()["id"]
            ]
            began = time.monotonic()
            n = 0
            while time.monotonic() - began < outage_s:  # accepts keep coming during the outage
                body = {"to": {"device_ids": [device_ids[n % devices]]}, "content": {"body": f"order {n}"}}
                answer = await server.send(app, body)
                assert answer.status_code == 202, answer.text
                ids.append(answer.json()["id"])
                n += 1
                await asyncio.sleep(1 / accepts_per_s)
            in_outage = (await sim.astats())["total"]
            during = [await server.counts(app, i) for i in ids]
            assert not any(c.get("failed") or c.get("expired") for c in during), "dead-lettered in the outage"
            await sim.aset_outage(False)
            recovered = time.monotonic()
            expected = devices + len(ids) - 1
            while True:
                counts = [await server.counts(app, i) for i in ids]
                if sum(c.get("delivered", 0) for c in counts) == expected:
                    break
                assert not any(c.get("failed") or c.get("expired") for c in counts), counts
                assert time.monotonic() - recovered < max(600, 3 * outage_s), "not delivered after recovery"
                await asyncio.sleep(0.5)
            drained_s = time.monotonic() - recovered
            delivered_at_provider = (await sim.astats())["delivered"]
        finally:
            await server.stop()
    return {
        "devices": devices,
        "outage_wall_s": outage_s,
        "accepted_during_outage": len(ids) - 1,
        "deliveries": expected,
        "requests_to_provider_in_outage": in_outage,
        "s_to_deliver_all_after_recovery": round(drained_s, 1),
        "provider_extra_copies": delivered_at_provider - expected,
    }
