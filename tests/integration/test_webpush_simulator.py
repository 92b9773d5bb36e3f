"""WebPushProvider against the simulated push service in its own process, over loopback.

The simulator holds each subscription's private key and decrypts what it accepts,
so these tests prove the encryption end to end, not just that bytes arrived.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest

from pushwise.domain.clock import Clock, ManualClock, SystemClock
from pushwise.domain.notification import DELIVERY_ID_KEY, Content, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind
from pushwise.domain.webpush_message import render_payload
from pushwise.providers.base import Dispatch
from pushwise.providers.vapid import generate_vapid_keys
from pushwise.providers.webpush import WebPushCredentials, WebPushProvider, build_webpush_provider
from pushwise.providers.webpush_transport import NegotiatedTransport, Pin
from pushwise.simulators.webpush import WebPushSimulatorHandle, start_webpush_simulator

pytestmark = pytest.mark.integration

CREDENTIALS = WebPushCredentials("mailto:ops@example.com", generate_vapid_keys()[0])
SPEC = NotificationSpec(
    Content(
        title="Your order shipped",
        body="Arrives Tuesday",
        data={"order": 42},
        url="https://shop.example/o/42",
    ),
    webpush={"urgency": "high", "topic": "order-42", "icon": "/icon.png"},
)


@pytest.fixture(scope="module")
def simulator() -> Iterator[WebPushSimulatorHandle]:
    with start_webpush_simulator(seed=1) as sim:
        yield sim


@pytest.fixture
def sim(simulator: WebPushSimulatorHandle) -> WebPushSimulatorHandle:
    simulator.set_faults({})
    simulator.reset()
    return simulator


def provider_for(sim: WebPushSimulatorHandle, clock: Clock | None = None) -> WebPushProvider:
    return build_webpush_provider(
        CREDENTIALS, clock or SystemClock(), ca_file=sim.ca_file, allow_private_endpoints=True, timeout=5.0
    )


@pytest.fixture
async def provider(sim: WebPushSimulatorHandle) -> AsyncIterator[WebPushProvider]:
    provider = provider_for(sim)
    yield provider
    await provider.close()


def delivered_content(delivery_id: int) -> Content:
    """SPEC's content as delivery `delivery_id` carries it: with its id in the data."""
    return replace(SPEC.content, data={**SPEC.content.data, DELIVERY_ID_KEY: delivery_id})


def dispatch(subscription: dict[str, Any], spec: NotificationSpec = SPEC) -> Dispatch:
    return Dispatch(
        1,
        "app",
        "n1",
        "webpush",
        subscription["endpoint"],
        spec,
        time.time() + 3600,
        1,
        subscription=subscription,
    )


async def send_one(provider: WebPushProvider, sim: WebPushSimulatorHandle, **faults: Any) -> Outcome:
    subscription = sim.new_subscription()
    if faults:
        sim.set_faults(faults)
    return await provider.send(dispatch(subscription))


async def test_delivered_push_decrypts_to_the_rendered_json(
    sim: WebPushSimulatorHandle, provider: WebPushProvider
) -> None:
    subscription = sim.new_subscription()
    outcome = await provider.send(dispatch(subscription))
    assert outcome.kind is OutcomeKind.DELIVERED
    assert outcome.provider_status == 201
    assert outcome.provider_message_id is not None
    assert outcome.provider_message_id.startswith(f"{sim.origin}/message/")
    [received] = sim.received(subscription["endpoint"])
    assert received["http_version"] == "1.1"  # plain http on loopback
    assert received["decrypt_error"] is None
    assert received["payload"] == render_payload(SPEC, delivered_content(1))
    headers = received["headers"]
    assert (headers["urgency"], headers["topic"], headers["content-encoding"]) == (
        "high",
        "order-42",
        "aes128gcm",
    )
    assert 3590 <= int(headers["ttl"]) <= 3600
    assert sim.counts() == {subscription["endpoint"]: {"received": 1, "delivered": 1}}


async def test_many_subscriptions_each_get_their_own_message(
    sim: WebPushSimulatorHandle, provider: WebPushProvider
) -> None:
    subscriptions = sim.new_subscriptions(5)
    for index, subscription in enumerate(subscriptions):
        spec = NotificationSpec(Content(title=f"hello {index}"))
        assert (await provider.send(dispatch(subscription, spec))).kind is OutcomeKind.DELIVERED
    titles = [sim.received(s["endpoint"])[0]["payload"]["title"] for s in subscriptions]
    assert titles == [f"hello {i}" for i in range(5)]
    assert sim.stats()["undecryptable"] == 0


@pytest.mark.parametrize(("status", "reason"), [(404, "NotFound"), (410, "Gone")])
async def test_unknown_or_gone_subscription_is_token_dead(
    sim: WebPushSimulatorHandle, provider: WebPushProvider, status: int, reason: str
) -> None:
    outcome = await send_one(provider, sim, statuses={str(status): 1.0})
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (OutcomeKind.TOKEN_DEAD, reason, status)


async def test_subscription_marked_gone_and_one_never_issued(
    sim: WebPushSimulatorHandle, provider: WebPushProvider
) -> None:
    gone = sim.new_subscription()
    sim.set_faults({"gone": [gone["endpoint"]]})
    assert (await provider.send(dispatch(gone))).provider_status == 410
    stranger = {**gone, "endpoint": f"{sim.origin}/push/never-issued"}
    outcome = await provider.send(dispatch(stranger))
    assert (outcome.kind, outcome.provider_status) == (OutcomeKind.TOKEN_DEAD, 404)


async def test_payload_too_large_from_the_service_is_permanent(
    sim: WebPushSimulatorHandle, provider: WebPushProvider
) -> None:
    outcome = await send_one(provider, sim, statuses={"413": 1.0})
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (
        OutcomeKind.PERMANENT,
        "PayloadTooLarge",
        413,
    )


async def test_payload_too_large_is_refused_before_sending(
    sim: WebPushSimulatorHandle, provider: WebPushProvider
) -> None:
    subscription = sim.new_subscription()
    outcome = await provider.send(dispatch(subscription, NotificationSpec(Content(body="x" * 4000))))
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (
        OutcomeKind.PERMANENT,
        "PayloadTooLarge",
        None,
    )
    assert sim.stats()["total"] == 0


async def test_throttled_push_retries_after_the_given_delay(
    sim: WebPushSimulatorHandle, provider: WebPushProvider
) -> None:
    outcome = await send_one(provider, sim, statuses={"429": 1.0}, retry_after_seconds=7)
    assert (outcome.kind, outcome.provider_status, outcome.retry_after) == (OutcomeKind.RETRY, 429, 7.0)


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_retry(
    sim: WebPushSimulatorHandle, provider: WebPushProvider, status: int
) -> None:
    outcome = await send_one(provider, sim, statuses={str(status): 1.0})
    assert (outcome.kind, outcome.provider_status) == (OutcomeKind.RETRY, status)


async def test_outage_retries_and_recovery_delivers(
    sim: WebPushSimulatorHandle, provider: WebPushProvider
) -> None:
    subscription = sim.new_subscription()
    sim.set_outage(True)
    assert (await provider.send(dispatch(subscription))).kind is OutcomeKind.RETRY
    sim.set_outage(False)
    assert (await provider.send(dispatch(subscription))).kind is OutcomeKind.DELIVERED


async def test_vapid_token_beyond_24_hours_is_a_configuration_error(sim: WebPushSimulatorHandle) -> None:
    """A sender clock two days fast signs `exp` too far ahead for the service's real clock: 401."""
    provider = provider_for(sim, ManualClock(time.time() + 2 * 86400))
    try:
        outcome = await provider.send(dispatch(sim.new_subscription()))
    finally:
        await provider.close()
    assert (outcome.kind, outcome.provider_status) == (OutcomeKind.CONFIGURATION, 401)


async def test_push_signed_with_another_vapid_key_is_forbidden(
    sim: WebPushSimulatorHandle, provider: WebPushProvider
) -> None:
    subscription = sim.new_subscription(application_server_key=generate_vapid_keys()[1])
    outcome = await provider.send(dispatch(subscription))
    assert (outcome.kind, outcome.provider_status) == (OutcomeKind.CONFIGURATION, 403)
    bound = sim.new_subscription(application_server_key=CREDENTIALS.vapid_public_key)
    assert (await provider.send(dispatch(bound))).kind is OutcomeKind.DELIVERED


async def test_unreachable_push_service_is_a_retry(sim: WebPushSimulatorHandle) -> None:
    provider = provider_for(sim)
    stopped = start_webpush_simulator()
    subscription = stopped.new_subscription()
    stopped.stop()
    try:
        outcome = await provider.send(dispatch(subscription))
    finally:
        await provider.close()
    assert (outcome.kind, outcome.reason) == (OutcomeKind.RETRY, "ConnectError")


async def test_tls_push_service_speaks_h2_and_decrypts() -> None:
    with start_webpush_simulator(tls=True) as sim:
        provider = provider_for(sim)
        try:
            subscription = sim.new_subscription()
            outcome = await provider.send(dispatch(subscription))
        finally:
            await provider.close()
        assert outcome.kind is OutcomeKind.DELIVERED
        [received] = sim.received(subscription["endpoint"])
        assert received["payload"] == render_payload(SPEC, delivered_content(1))
        assert received["http_version"] == "2"


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
async def test_a_pinned_transport_connects_to_the_checked_address_not_to_dns(tls: bool) -> None:
    """`push-service.invalid` cannot resolve: a reply comes only because the pin names the address.

    The simulator then refuses the VAPID audience (not its own origin): proof enough that it answered.
    """
    with start_webpush_simulator(tls=tls) as sim:
        subscription = sim.new_subscription()
        real = urlsplit(subscription["endpoint"])
        assert real.port is not None
        # Over TLS the certificate is verified against the pinned name: the simulator's is for localhost.
        pinned_host = "localhost" if tls else "push-service.invalid"
        pin = Pin(pinned_host, "127.0.0.1", real.port)
        subscription["endpoint"] = real._replace(netloc=f"{pinned_host}:{real.port}").geturl()

        def pinned(origin: str, _pin: Pin | None) -> NegotiatedTransport:
            return NegotiatedTransport(ca_file=sim.ca_file, allow_http=not tls, pin=pin)

        provider = WebPushProvider(
            CREDENTIALS, SystemClock(), pinned, allow_private_endpoints=True, timeout=5.0
        )
        try:
            outcome = await provider.send(dispatch(subscription))
        finally:
            await provider.close()
    assert (outcome.kind, outcome.provider_status) == (OutcomeKind.CONFIGURATION, 403)
