"""SQLite's writer taken in turns: one holder at a time, requests first, cancellation never wedges it."""

from __future__ import annotations

import asyncio
import random

import pytest

from pushwise.store.db import WriteTurns


async def hold(turns: WriteTurns, *, urgent: bool, log: list[str], name: str, gate: asyncio.Event) -> None:
    async with turns.turn(urgent=urgent):
        log.append(name)
        await gate.wait()


async def test_requests_go_before_waiting_background_work() -> None:
    turns, log, gate = WriteTurns(), list[str](), asyncio.Event()
    first = asyncio.create_task(hold(turns, urgent=False, log=log, name="batch-1", gate=gate))
    await asyncio.sleep(0)
    later = [
        asyncio.create_task(hold(turns, urgent=False, log=log, name="batch-2", gate=gate)),
        asyncio.create_task(hold(turns, urgent=True, log=log, name="request", gate=gate)),
    ]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *later)
    assert log == ["batch-1", "request", "batch-2"]


async def test_a_waiter_cancelled_while_the_holder_releases_raises_cancelled_and_frees_the_turn() -> None:
    turns, log, gate = WriteTurns(), list[str](), asyncio.Event()
    holder = asyncio.create_task(hold(turns, urgent=False, log=log, name="holder", gate=gate))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold(turns, urgent=True, log=log, name="waiter", gate=gate))
    await asyncio.sleep(0)
    waiter.cancel()  # its future is cancelled now; its except block runs only on the next loop pass
    gate.set()
    await holder  # releases, dropping the cancelled future from the queue first
    with pytest.raises(asyncio.CancelledError):
        await waiter
    async with asyncio.timeout(1), turns.turn(urgent=False):
        log.append("after")
    assert log == ["holder", "after"]


async def test_a_waiter_cancelled_after_being_handed_the_turn_passes_it_on() -> None:
    turns, log, gate = WriteTurns(), list[str](), asyncio.Event()
    gate.set()
    holding = turns.turn(urgent=False)
    await holding.__aenter__()
    handed = asyncio.create_task(hold(turns, urgent=True, log=log, name="handed", gate=gate))
    next_in_line = asyncio.create_task(hold(turns, urgent=False, log=log, name="next", gate=gate))
    await asyncio.sleep(0)  # both wait
    await holding.__aexit__(None, None, None)  # hands the turn to `handed` without yielding the loop
    handed.cancel()  # before `handed` has run: it must pass the turn on, not keep it
    with pytest.raises(asyncio.CancelledError):
        await handed
    await asyncio.wait_for(next_in_line, 1)
    assert log == ["next"]


@pytest.mark.parametrize("seed", range(20))
async def test_random_holders_and_cancellations_never_overlap_or_wedge(seed: int) -> None:
    rng = random.Random(seed)
    turns = WriteTurns()
    holding = 0
    most = 0

    async def work() -> None:
        nonlocal holding, most
        async with turns.turn(urgent=rng.random() < 0.3):
            holding += 1
            most = max(most, holding)
            try:
                await asyncio.sleep(0)
            finally:
                holding -= 1

    tasks = [asyncio.create_task(work()) for _ in range(40)]
    for _ in range(60):
        await asyncio.sleep(0)
        pending = [t for t in tasks if not t.done()]
        if pending and rng.random() < 0.4:
            rng.choice(pending).cancel()
    await asyncio.wait(tasks, timeout=5)
    assert all(t.done() for t in tasks)
    assert most == 1
    async with asyncio.timeout(1), turns.turn(urgent=False):
        pass
