"""The APNs provider against the simulated APNs (a real HTTP/2 peer in its own process)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pushwise.domain.clock import ManualClock, SystemClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind
from pushwise.providers.apns import ApnsCredentials, ApnsProvider, build_apns_provider
from pushwise.providers.base import Dispatch
from pushwise.providers.http2.h2_transport import H2Transport
from pushwise.providers.http2.options import ConnectionOptions
from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator

pytestmark = pytest.mark.integration

SPEC = NotificationSpec(content=Content(title="Order shipped", body="Your parcel is on its way"))


def token(n: int, prefix: str = "ab") -> str:
    return f"{prefix}{n:062x}"


def dispatch(n: int, device_token: str | None = None) -> Dispatch:
    return Dispatch(n, "shop", "n1", "apns", device_token or token(n), SPEC, time.time() + 3600, 1)


def credentials(sim: ApnsSimulatorHandle) -> ApnsCredentials:
    return ApnsCredentials(
        topic=sim.topic,
        team_id=sim.team_id,
        key_id=sim.key_id,
        private_key_pem=sim.private_key_pem,
        endpoint=sim.endpoint,
        ca_file=sim.ca_file,
    )


def simulator(**options: Any) -> Iterator[ApnsSimulatorHandle]:
    sim = start_apns_simulator(seed=0, **options)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim() -> Iterator[ApnsSimulatorHandle]:
    yield from simulator(tls=True)


@pytest.fixture
def h2_sim() -> Iterator[ApnsSimulatorHandle]:
    """The simulator engine that can drop connections and send GOAWAY."""
    yield from simulator(tls=True, engine="h2")


@pytest.fixture
async def apns(sim: ApnsSimulatorHandle) -> AsyncIterator[ApnsProvider]:
    provider = build_apns_provider(credentials(sim), SystemClock(), timeout=5.0)
    yield provider
    await provider.close()


async def send_all(provider: ApnsProvider, dispatches: list[Dispatch]) -> list[Outcome]:
    return await asyncio.gather(*(provider.send(d) for d in dispatches))


async def test_delivery_over_tls_with_token_auth(sim: ApnsSimulatorHandle, apns: ApnsProvider) -> None:
    outcomes = await send_all(apns, [dispatch(n) for n in range(50)])
    assert {outcome.kind for outcome in outcomes} == {OutcomeKind.DELIVERED}
    assert all(outcome.provider_message_id for outcome in outcomes)
    counts = sim.token_counts()
    assert all(counts[token(n)]["delivered"] == 1 for n in range(50))
    [received] = sim.received(token(3))
    assert "Order shipped" in str(received)


async def test_the_h2_fallback_transport_carries_the_provider(sim: ApnsSimulatorHandle) -> None:
    transport = H2Transport(ConnectionOptions(ca_file=sim.ca_file))
    provider = ApnsProvider(credentials(sim), transport, SystemClock(), timeout=5.0)
    try:
        outcomes = await send_all(provider, [dispatch(n) for n in range(50)])
    finally:
        await provider.close()
    assert {outcome.kind for outcome in outcomes} == {OutcomeKind.DELIVERED}


@pytest.fixture
def h2c_sim() -> Iterator[ApnsSimulatorHandle]:
    yield from simulator(tls=False)


async def test_cleartext_h2c_endpoint(h2c_sim: ApnsSimulatorHandle) -> None:
    provider = build_apns_provider(credentials(h2c_sim), SystemClock(), timeout=5.0)
    try:
        assert (await provider.send(dispatch(1))).kind is OutcomeKind.DELIVERED
    finally:
        await provider.close()
    assert h2c_sim.token_counts()[token(1)]["delivered"] == 1


@pytest.fixture
def certificate_credentials() -> Iterator[ApnsCredentials]:
    for sim in simulator(tls=True, auth="certificate"):
        assert sim.client_cert_file is not None
        assert sim.client_key_file is not None
        yield ApnsCredentials(
            topic=sim.topic,
            certificate_pem=Path(sim.client_cert_file).read_text(),
            certificate_key_pem=Path(sim.client_key_file).read_text(),
            endpoint=sim.endpoint,
            ca_file=sim.ca_file,
        )


async def test_certificate_auth(certificate_credentials: ApnsCredentials) -> None:
    provider = build_apns_provider(certificate_credentials, SystemClock(), timeout=5.0)
    try:
        assert (await provider.send(dispatch(1))).kind is OutcomeKind.DELIVERED
    finally:
        await provider.close()
    assert provider.certificate is not None
    assert provider.certificate.expires_at.timestamp() > time.time()


async def test_an_expired_provider_token_is_replaced_and_the_send_retried_once(
    sim: ApnsSimulatorHandle,
) -> None:
    clock = ManualClock(time.time())
    provider = build_apns_provider(credentials(sim), clock, timeout=5.0)
    try:
        assert (await provider.send(dispatch(1))).kind is OutcomeKind.DELIVERED
        # The simulator now calls any token older than a second expired; ours is older
        # by then but well within the 50 minutes we reuse a token for.
        sim.set_faults({"token_max_age_s": 1})
        await asyncio.sleep(2.1)
        clock.set(time.time())
        assert (await provider.send(dispatch(2))).kind is OutcomeKind.DELIVERED
    finally:
        await provider.close()
    assert sim.stats()["by_reason"] == {"ExpiredProviderToken": 1}
    assert sim.token_counts()[token(2)] == {"received": 2, "delivered": 1}


async def test_a_token_apns_keeps_calling_expired_is_retried_once_then_a_configuration_error(
    sim: ApnsSimulatorHandle, apns: ApnsProvider
) -> None:
    sim.set_faults({"reasons": {"ExpiredProviderToken": 1.0}})
    outcome = await apns.send(dispatch(1))
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "ExpiredProviderToken")
    assert sim.stats()["total"] == 2


@pytest.mark.parametrize(
    ("reason", "retry_after"),
    [
        ("TooManyRequests", 7.0),
        ("ServiceUnavailable", 7.0),
        ("Shutdown", 7.0),
        ("TooManyProviderTokenUpdates", 7.0),
        ("InternalServerError", None),  # APNs sends Retry-After with 429 and 503 only
        ("IdleTimeout", None),
    ],
)
async def test_every_retry_reason_is_a_retry_with_retry_after(
    sim: ApnsSimulatorHandle, apns: ApnsProvider, reason: str, retry_after: float | None
) -> None:
    sim.set_faults({"reasons": {reason: 1.0}, "retry_after_seconds": 7})
    outcome = await apns.send(dispatch(1))
    assert (outcome.kind, outcome.reason, outcome.retry_after) == (OutcomeKind.RETRY, reason, retry_after)


async def test_dead_tokens_are_token_dead(sim: ApnsSimulatorHandle, apns: ApnsProvider) -> None:
    sim.set_faults({"dead_token_prefix": "dead", "dead_tokens": [token(2)]})
    outcomes = await send_all(apns, [dispatch(1, token(1, "dead")), dispatch(2), dispatch(3)])
    assert [outcome.kind for outcome in outcomes] == [
        OutcomeKind.TOKEN_DEAD,
        OutcomeKind.TOKEN_DEAD,
        OutcomeKind.DELIVERED,
    ]


async def test_an_outage_is_retried(sim: ApnsSimulatorHandle, apns: ApnsProvider) -> None:
    sim.set_outage(True)
    outcome = await apns.send(dispatch(1))
    assert outcome.kind is OutcomeKind.RETRY


async def test_a_slow_apns_is_a_timeout_retry(sim: ApnsSimulatorHandle) -> None:
    sim.set_faults({"latency_ms": {"min": 1500, "max": 1500}})
    provider = build_apns_provider(credentials(sim), SystemClock(), timeout=0.3)
    try:
        outcomes = await send_all(provider, [dispatch(n) for n in range(5)])
    finally:
        await provider.close()
    assert {(o.kind, o.reason) for o in outcomes} == {(OutcomeKind.RETRY, "Timeout")}


@pytest.mark.parametrize(
    "faults",
    [{"goaway_after_streams": 7}, {"drop_connection_rate": 0.1}],
    ids=["goaway", "dropped-connections"],
)
@pytest.mark.parametrize("transport", ["pyreqwest", "h2"])
async def test_connection_faults_end_as_retry_outcomes_without_hanging(
    h2_sim: ApnsSimulatorHandle, faults: dict[str, Any], transport: str
) -> None:
    h2_sim.set_faults(faults)
    if transport == "h2":
        provider = ApnsProvider(
            credentials(h2_sim),
            H2Transport(ConnectionOptions(ca_file=h2_sim.ca_file)),
            SystemClock(),
            timeout=5.0,
        )
    else:
        provider = build_apns_provider(credentials(h2_sim), SystemClock(), timeout=5.0)
    try:
        async with asyncio.timeout(30):
            outcomes = await send_all(provider, [dispatch(n) for n in range(200)])
    finally:
        await provider.close()
    kinds = Counter((o.kind, o.reason) for o in outcomes)
    assert set(kinds) <= {
        (OutcomeKind.DELIVERED, ""),
        (OutcomeKind.RETRY, "GoAway"),
        (OutcomeKind.RETRY, "ConnectionLost"),
    }
    assert kinds[(OutcomeKind.DELIVERED, "")] > 0
    assert sum(kinds.values()) == 200
