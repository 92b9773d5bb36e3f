"""Outcomes are recorded while their batch still sends, and the lease guard still holds.

A provider that answers some deliveries at once and holds others shows the quick ones
recorded (state, attempts, listeners told once) before the batch is done; a worker
whose lease ran out meanwhile cannot overwrite what the worker that took its claims
over recorded. Both engines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pushwise.delivery.engine import AcceptRequest
from pushwise.delivery.worker import Recorded, WorkerOptions
from pushwise.domain.flush import FlushPolicy
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind, delivered
from pushwise.providers.base import Dispatch
from pushwise.store.devices import DeviceRegistration, DeviceRepository
from pushwise.store.notifications import Target
from pushwise.store.schema import attempts, deliveries
from tests.integration.engine_rig import Rig, make_rig
from tests.integration.pg_databases import fresh_store

pytestmark = pytest.mark.integration

DEVICES = 20
HELD = 8  # deliveries whose first send the provider holds until released


@dataclass
class HoldingProvider:
    """Answers at once, except the first send of `held` tokens: that waits for `release`
    and then answers `held_answer`. Later sends of the same token answer at once."""

    held: set[str]
    held_answer: Outcome = field(default_factory=delivered)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    seen: list[str] = field(default_factory=list)

    async def send(self, dispatch: Dispatch) -> Outcome:
        first = dispatch.token not in self.seen
        self.seen.append(dispatch.token)
        if first and dispatch.token in self.held:
            await self.release.wait()
            return self.held_answer
        return delivered()

    async def close(self) -> None:
        return None


@dataclass
class Told:
    """A listener that keeps every recorded outcome it was told of."""

    ids: list[int] = field(default_factory=list)

    async def recorded(self, batch: Sequence[Recorded]) -> None:
        self.ids.extend(item.claimed.id for item in batch)


@pytest.fixture(params=["sqlite", "postgresql"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    async with fresh_store(request.param, server, tmp_path) as url:
        built = await make_rig(tmp_path, ("apns",), url=url)
        try:
            yield built
        finally:
            await built.services.close()


async def send_to_devices(rig: Rig, provider: HoldingProvider) -> list[str]:
    tokens = [f"{n:064x}" for n in range(DEVICES)]
    await DeviceRepository(rig.services.db, rig.clock).register_many(
        rig.app_id, [DeviceRegistration("ios", token) for token in tokens]
    )
    provider.held.update(tokens[:HELD])
    rig.providers["apns"] = provider  # type: ignore[assignment]
    spec = NotificationSpec(Content(title="Rolling", body="record"))
    await rig.services.engine.accept(rig.app_id, AcceptRequest(spec, Target(everyone=True)))
    return tokens


async def states(rig: Rig) -> dict[str, int]:
    async with rig.services.db.read.connect() as conn:
        rows = await conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))
        return {state: int(count) for state, count in rows}


async def eventually_states(rig: Rig, expected: dict[str, int]) -> None:
    deadline = time.monotonic() + 30
    while (found := await states(rig)) != expected:
        assert time.monotonic() < deadline, f"states stayed {found}, expected {expected}"
        await asyncio.sleep(0.02)


# Groups of four by count; the interval is long so only the count and the batch's end write.
OPTIONS = WorkerOptions(lease_seconds=30.0, flush=FlushPolicy(count=4, seconds=60.0))


async def test_outcomes_are_recorded_while_the_batch_still_sends(rig: Rig) -> None:
    provider = HoldingProvider(set())
    await send_to_devices(rig, provider)
    told = Told()
    rig.services.engine.add_listener(told)
    worker = rig.services.engine.worker(owner="a", options=OPTIONS)

    batch = asyncio.create_task(worker.run_once())
    # The quick twelve are recorded (groups of four: the count, not the interval) while eight still wait.
    await eventually_states(rig, {"delivered": DEVICES - HELD, "sending": HELD})
    assert len(told.ids) == DEVICES - HELD
    assert not batch.done()

    provider.release.set()
    assert await batch == DEVICES
    assert await states(rig) == {"delivered": DEVICES}
    assert len(set(told.ids)) == len(told.ids) == DEVICES  # each told once
    async with rig.services.db.read.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(attempts))).scalar() == DEVICES


async def test_a_worker_that_lost_its_lease_cannot_overwrite_the_new_owner(rig: Rig) -> None:
    # The held first sends answer "token dead" late; by then another worker has delivered them.
    provider = HoldingProvider(set(), held_answer=Outcome(OutcomeKind.TOKEN_DEAD, "Unregistered", 410))
    await send_to_devices(rig, provider)
    stale = rig.services.engine.worker(owner="stale", options=OPTIONS)
    batch = asyncio.create_task(stale.run_once())
    await eventually_states(rig, {"delivered": DEVICES - HELD, "sending": HELD})

    rig.clock.advance(OPTIONS.lease_seconds + 1)  # the stale worker's lease runs out
    taker = rig.services.engine.worker(owner="taker", options=OPTIONS)
    assert await taker.run_once() == HELD
    assert await states(rig) == {"delivered": DEVICES}

    provider.release.set()
    assert await batch == DEVICES
    # The late "token dead" answers did not replace the taker's deliveries.
    assert await states(rig) == {"delivered": DEVICES}
    async with rig.services.db.read.connect() as conn:
        owners = (
            await conn.execute(select(func.count()).where(deliveries.c.lease_owner.is_not(None)))
        ).scalar()
    assert owners == 0


@dataclass
class CountingProvider:
    """Answers after a moment, keeping the most sends it ever had waiting at once."""

    waiting: int = 0
    most: int = 0

    async def send(self, dispatch: Dispatch) -> Outcome:
        self.waiting += 1
        self.most = max(self.most, self.waiting)
        await asyncio.sleep(0.01)
        self.waiting -= 1
        return delivered()

    async def close(self) -> None:
        return None


async def test_no_more_requests_in_flight_than_the_window(rig: Rig) -> None:
    """What a killed worker sends again (sent, not yet recorded) is bounded by its window, not by
    its claims."""
    provider = CountingProvider()
    await send_to_devices(rig, HoldingProvider(set()))
    rig.providers["apns"] = provider  # type: ignore[assignment]
    # A slot is freed when its outcome is written (groups of four here), not when the answer comes.
    worker = rig.services.engine.worker(owner="windowed", options=replace(OPTIONS, max_in_flight=4))
    assert await worker.run_once() == DEVICES
    assert await states(rig) == {"delivered": DEVICES}
    assert 1 <= provider.most <= 4
