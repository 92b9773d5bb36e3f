"""FcmProvider against the FCM simulator (granian, own process) over TLS HTTP/2 and h2c."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from pushwise.domain.clock import ManualClock, SystemClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind
from pushwise.domain.rate_limit import SlidingWindowLimit
from pushwise.providers.base import Dispatch
from pushwise.providers.fcm import FcmCredentials, FcmProvider, build_fcm_provider
from pushwise.providers.http2 import ConnectionOptions, PyreqwestTransport
from pushwise.simulators.fcm import FcmSimulatorHandle, start_fcm_simulator
from pushwise.simulators.handle import SimulatorControlError

pytestmark = pytest.mark.integration

TOKEN = "tok_" + "a1" * 30


@pytest.fixture(scope="module")
def sim() -> Iterator[FcmSimulatorHandle]:
    with start_fcm_simulator(tls=True, seed=3) as handle:
        yield handle


@pytest.fixture(autouse=True)
def clean(sim: FcmSimulatorHandle) -> None:
    sim.set_faults({})
    sim.reset()


def credentials(sim: FcmSimulatorHandle) -> FcmCredentials:
    return FcmCredentials(sim.service_account, endpoint=sim.endpoint, ca_file=sim.ca_file)


@pytest.fixture
async def provider(sim: FcmSimulatorHandle) -> AsyncIterator[FcmProvider]:
    fcm = build_fcm_provider(credentials(sim), SystemClock(), connections=1)
    yield fcm
    await fcm.close()


def dispatch(token: str = TOKEN, spec: NotificationSpec | None = None) -> Dispatch:
    spec = spec or NotificationSpec(
        Content(title="Order shipped", body="Arrives Tuesday", data={"order": 42})
    )
    return Dispatch(1, "app", "n1", "fcm", token, spec, None, 1)


async def test_delivery_reaches_the_device_with_string_data(
    sim: FcmSimulatorHandle, provider: FcmProvider
) -> None:
    outcome = await provider.send(dispatch())
    assert outcome.kind is OutcomeKind.DELIVERED
    assert outcome.provider_message_id is not None
    assert outcome.provider_message_id.startswith(f"projects/{sim.project_id}/messages/")
    assert sim.token_counts()[TOKEN] == {"received": 1, "delivered": 1}
    message = sim.received(TOKEN)[0]["payload"]["message"]
    assert message["data"] == {"order": "42"}
    assert message["notification"] == {"title": "Order shipped", "body": "Arrives Tuesday"}


async def test_h2c_delivery() -> None:
    with start_fcm_simulator(tls=False) as plain:
        fcm = build_fcm_provider(
            FcmCredentials(plain.service_account, endpoint=plain.endpoint), SystemClock()
        )
        try:
            assert (await fcm.send(dispatch())).kind is OutcomeKind.DELIVERED
        finally:
            await fcm.close()
        assert plain.stats()["delivered"] == 1


async def test_token_is_refreshed_when_the_clock_passes_its_expiry(sim: FcmSimulatorHandle) -> None:
    # Assertions are signed on the manual clock, an hour ahead of the simulator's real one.
    sim.set_faults({"check_assertion_time": False})
    clock = ManualClock(time.time())
    fcm = build_fcm_provider(credentials(sim), clock)
    try:
        assert (await fcm.send(dispatch())).kind is OutcomeKind.DELIVERED
        clock.advance(1800)
        assert (await fcm.send(dispatch())).kind is OutcomeKind.DELIVERED
        assert sim.stats()["oauth"]["issued"] == 1
        clock.advance(3600 - 1800 - 300 + 1)
        assert (await fcm.send(dispatch())).kind is OutcomeKind.DELIVERED
        assert sim.stats()["oauth"]["issued"] == 2
    finally:
        await fcm.close()


async def test_an_access_token_the_server_calls_expired_is_replaced_and_the_send_retried(
    sim: FcmSimulatorHandle, provider: FcmProvider
) -> None:
    assert (await provider.send(dispatch())).kind is OutcomeKind.DELIVERED
    sim.expire_access_tokens()
    assert (await provider.send(dispatch())).kind is OutcomeKind.DELIVERED
    stats = sim.stats()
    assert (stats["oauth"]["issued"], stats["by_reason"]) == (2, {"UNAUTHENTICATED": 1})


@pytest.mark.parametrize(
    ("code", "kind", "retry_after"),
    [
        ("UNAVAILABLE", OutcomeKind.RETRY, 7.0),
        ("QUOTA_EXCEEDED", OutcomeKind.RETRY, 7.0),
        ("INTERNAL", OutcomeKind.RETRY, None),
        ("UNREGISTERED", OutcomeKind.TOKEN_DEAD, None),
        ("INVALID_ARGUMENT", OutcomeKind.PERMANENT, None),
        ("SENDER_ID_MISMATCH", OutcomeKind.TOKEN_DEAD, None),
        ("THIRD_PARTY_AUTH_ERROR", OutcomeKind.CONFIGURATION, None),
    ],
)
async def test_every_injected_error_code_maps_to_its_outcome(
    sim: FcmSimulatorHandle, provider: FcmProvider, code: str, kind: OutcomeKind, retry_after: float | None
) -> None:
    sim.set_faults({"error_codes": {code: 1.0}, "retry_after_seconds": 7})
    outcome = await provider.send(dispatch())
    assert (outcome.kind, outcome.reason, outcome.retry_after) == (kind, code, retry_after)


async def test_dead_and_malformed_tokens_are_token_dead(
    sim: FcmSimulatorHandle, provider: FcmProvider
) -> None:
    sim.set_faults({"dead_token_prefix": "dead_"})
    dead = await provider.send(dispatch("dead_" + "b" * 40))
    malformed = await provider.send(dispatch("not a token"))
    assert (dead.kind, dead.reason) == (OutcomeKind.TOKEN_DEAD, "UNREGISTERED")
    assert (malformed.kind, malformed.reason) == (OutcomeKind.TOKEN_DEAD, "INVALID_ARGUMENT")
    assert (await provider.send(dispatch())).kind is OutcomeKind.DELIVERED


async def test_a_message_fcm_refuses_is_permanent(provider: FcmProvider) -> None:
    spec = NotificationSpec(Content(title="t"), fcm={"android": {"ttl": "one day"}})
    outcome = await provider.send(dispatch(spec=spec))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "INVALID_ARGUMENT")


async def test_outage_answers_retry_until_switched_off(
    sim: FcmSimulatorHandle, provider: FcmProvider
) -> None:
    sim.set_outage(True)
    assert (await provider.send(dispatch())).reason == "UNAVAILABLE"
    sim.set_outage(False)
    assert (await provider.send(dispatch())).kind is OutcomeKind.DELIVERED


async def test_another_project_is_a_configuration_error(sim: FcmSimulatorHandle) -> None:
    account = {**sim.service_account, "project_id": "someone-elses"}
    fcm = build_fcm_provider(
        FcmCredentials(account, endpoint=sim.endpoint, ca_file=sim.ca_file), SystemClock()
    )
    try:
        outcome = await fcm.send(dispatch())
    finally:
        await fcm.close()
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "PERMISSION_DENIED")


async def test_local_quota_holds_sends_back_before_the_network(sim: FcmSimulatorHandle) -> None:
    clock = ManualClock(time.time())
    sim.set_faults({"check_assertion_time": False})
    transport = PyreqwestTransport(ConnectionOptions(connections=1, ca_file=sim.ca_file))
    fcm = FcmProvider(credentials(sim), transport, clock, quota=SlidingWindowLimit(3, 60.0, clock))
    try:
        outcomes = [await fcm.send(dispatch()) for _ in range(5)]
        assert [o.reason for o in outcomes] == ["", "", "", "LocalQuota", "LocalQuota"]
        assert sim.stats()["total"] == 3
        wait = outcomes[-1].retry_after
        assert wait is not None
        clock.advance(wait)
        assert (await fcm.send(dispatch())).kind is OutcomeKind.DELIVERED
    finally:
        await fcm.close()


async def test_faults_repeat_after_a_reset(sim: FcmSimulatorHandle, provider: FcmProvider) -> None:
    async def run() -> list[Outcome]:
        return [await provider.send(dispatch()) for _ in range(30)]

    sim.set_faults({"error_codes": {"UNAVAILABLE": 0.3, "INTERNAL": 0.2}})
    first = [o.reason for o in await run()]
    sim.reset()
    assert [o.reason for o in await run()] == first
    assert sim.stats()["oauth"]["issued"] == 0  # counters restart; the access token stays valid
    assert {"UNAVAILABLE", "INTERNAL", ""} == set(first)


def test_unknown_fault_settings_are_refused(sim: FcmSimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError, match="unknown FCM error codes"):
        sim.set_faults({"error_codes": {"NOT_A_CODE": 0.1}})
