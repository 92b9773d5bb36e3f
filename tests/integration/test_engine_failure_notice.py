"""The failure notice: a user whose last push device died is told once per period, kindly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pushwise.delivery.notices import WEEK
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind, delivered
from pushwise.providers.base import Dispatch
from pushwise.store.users import UserRepository
from tests.integration.engine_rig import Rig, rig_fixture

pytestmark = pytest.mark.integration

SPEC = NotificationSpec(Content(title="Shop", body="New arrivals"))


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path):
        yield made


def dead_tokens(*tokens: str) -> object:
    def answer(dispatch: Dispatch) -> Outcome:
        return (
            Outcome(OutcomeKind.TOKEN_DEAD, "Unregistered", 410) if dispatch.token in tokens else delivered()
        )

    return answer


async def notices(rig: Rig) -> list[Dispatch]:
    return [d for d in rig.providers["inbox"].sent if d.spec.content.data.get("pushwise") == "failure_notice"]


async def test_told_once_when_the_last_device_dies_and_not_twice(rig: Rig) -> None:
    first, second, third = "a1" * 32, "b2" * 32, "c3" * 32
    await rig.user("ann", {first: "ios", second: "ios"})
    await UserRepository(rig.services.db, rig.clock).upsert(rig.app_id, "ann", {"locale": "de-AT"})
    rig.providers["apns"].answer = dead_tokens(first, second, third)  # type: ignore[assignment]

    await rig.send(SPEC, users=("ann",))
    await rig.drain()
    told = await notices(rig)
    assert len(told) == 1
    assert told[0].spec.content.title == "Ihnen entgehen vielleicht Nachrichten von shop"
    assert told[0].spec.priority == "transactional"

    # A new device, dead again within the week: no second notice.
    await rig.user("ann", {third: "ios"})
    await rig.send(SPEC, users=("ann",))
    await rig.drain()
    assert len(await notices(rig)) == 1

    # After the period, a user who re-enabled and lost push again is told again.
    rig.clock.advance(WEEK + 1)
    await rig.user("ann", {"d4" * 32: "ios"})
    rig.providers["apns"].answer = dead_tokens("d4" * 32)  # type: ignore[assignment]
    await rig.send(SPEC, users=("ann",))
    await rig.drain()
    assert len(await notices(rig)) == 2


async def test_no_notice_while_another_device_still_works(rig: Rig) -> None:
    dead, alive = "a1" * 32, "b2" * 32
    await rig.user("bob", {dead: "ios", alive: "ios"})
    rig.providers["apns"].answer = dead_tokens(dead)  # type: ignore[assignment]
    await rig.send(SPEC, users=("bob",))
    await rig.drain()
    assert await notices(rig) == []


async def test_processing_the_same_outcomes_twice_plans_one_notice(rig: Rig) -> None:
    await rig.user("cat", {"a1" * 32: "ios"})
    rig.providers["apns"].answer = dead_tokens("a1" * 32)  # type: ignore[assignment]
    seen: list[object] = []

    class Tap:
        async def recorded(self, batch: object) -> None:
            seen.append(batch)

    rig.services.engine.add_listener(Tap())
    worker = rig.services.engine.worker()
    await rig.send(SPEC, users=("cat",))
    await worker.run_once()
    replay = await rig.services.engine.failure_notices.notify(seen[0])  # type: ignore[arg-type]
    assert replay == []
