"""Each vendor adapter against its simulator: authentication and signatures, renewal after an
expiry answer, the request shape per class, batching, and every code the simulator answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from pushwise.domain.china.vendors import VENDORS, CategoryClass, VendorClass
from pushwise.domain.clock import SystemClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind
from pushwise.providers.base import Dispatch, Provider
from pushwise.providers.china.factory import build_vendor_provider
from pushwise.simulators.china.harness import VendorSimulatorHandle, start_vendor_simulator

pytestmark = pytest.mark.integration

SECRETS = ("client_secret", "app_secret", "master_secret")
SERVICE_FIELDS = {
    "huawei": {"category": "EXPRESS"},
    "honor": {"importance": "NORMAL"},
    "xiaomi": {"channel_id": "service"},
    "oppo": {"channel_id": "service", "category": "ORDER", "notify_level": 2},
    "vivo": {"category": "ORDER"},
}
CATEGORIES = {"orders": CategoryClass(VendorClass.SERVICE, SERVICE_FIELDS)}
SPEC = NotificationSpec(Content(title="Shipped", body="On its way", data={"order": 7}))
ORDERS = NotificationSpec(Content(title="Shipped", body="On its way"), category="orders")


@pytest.fixture(scope="module")
def simulators() -> Iterator[dict[str, VendorSimulatorHandle]]:
    started: dict[str, VendorSimulatorHandle] = {}
    try:
        for vendor in VENDORS:
            started[vendor] = start_vendor_simulator(vendor)
        yield started
    finally:
        for handle in started.values():
            handle.stop()


@pytest.fixture(params=VENDORS)
def sim(
    request: pytest.FixtureRequest, simulators: dict[str, VendorSimulatorHandle]
) -> VendorSimulatorHandle:
    handle = simulators[request.param]
    handle.reset()
    handle.set_faults({"outage": False})
    return handle


def provider_for(sim: VendorSimulatorHandle, **changes: str) -> Provider:
    config = {**sim.provider_config(), **changes}
    public = {k: v for k, v in config.items() if k not in SECRETS}
    secret = {k: v for k, v in config.items() if k in SECRETS}
    return build_vendor_provider(sim.vendor, public, secret, SystemClock(), categories=CATEGORIES)


def dispatch(vendor: str, token: str, spec: NotificationSpec = SPEC, delivery_id: int = 1) -> Dispatch:
    return Dispatch(delivery_id, "app", "ntf_1", vendor, token, spec, None, 1)


async def send_all(
    provider: Provider, vendor: str, tokens: list[str], spec: NotificationSpec = SPEC
) -> list[Outcome]:
    return list(
        await asyncio.gather(*(provider.send(dispatch(vendor, t, spec, i)) for i, t in enumerate(tokens)))
    )


async def test_a_batch_goes_in_one_request_and_every_token_is_delivered(sim: VendorSimulatorHandle) -> None:
    provider = provider_for(sim)
    tokens = [f"tok{i}" for i in range(30)]
    try:
        outcomes = await send_all(provider, sim.vendor, tokens)
    finally:
        await provider.close()
    assert {o.kind for o in outcomes} == {OutcomeKind.DELIVERED}
    stats = await sim.astats()
    # vivo saves the message once, then sends it to the list: two requests for any batch.
    assert stats["requests"] == (2 if sim.vendor == "vivo" else 1)
    assert stats["delivered"] == 30


async def test_wrong_secret_is_a_configuration_error(sim: VendorSimulatorHandle) -> None:
    wrong = next(name for name in SECRETS if name in sim.credentials)
    provider = provider_for(sim, **{wrong: "not-the-secret"})
    try:
        outcome = await provider.send(dispatch(sim.vendor, "tok"))
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.CONFIGURATION
    assert outcome.reason.startswith(sim.vendor + ":")


async def test_credentials_are_renewed_once_after_an_expiry_answer(sim: VendorSimulatorHandle) -> None:
    if sim.vendor == "xiaomi":
        pytest.skip("MiPush authenticates every request with the AppSecret: there is no token to renew")
    provider = provider_for(sim)
    try:
        first = await provider.send(dispatch(sim.vendor, "tok1"))
        sim.expire_tokens()
        second = await send_all(provider, sim.vendor, ["tok2", "tok3"])
    finally:
        await provider.close()
    assert first.kind is OutcomeKind.DELIVERED
    assert {o.kind for o in second} == {OutcomeKind.DELIVERED}
    assert (await sim.astats())["auth"]["issued"] == 2


async def test_an_expiry_answer_to_a_fresh_token_is_configuration(sim: VendorSimulatorHandle) -> None:
    if sim.vendor == "xiaomi":
        pytest.skip("no token to expire")
    await sim.aset_faults({"error_rates": {"token_expired": 1.0}})
    provider = provider_for(sim)
    try:
        outcome = await provider.send(dispatch(sim.vendor, "tok"))
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.CONFIGURATION


async def test_dead_tokens_are_named_per_token(sim: VendorSimulatorHandle) -> None:
    await sim.aset_faults({"dead_tokens": ["dead1"]})
    provider = provider_for(sim)
    try:
        alone = await provider.send(dispatch(sim.vendor, "dead1"))
        mixed = await send_all(provider, sim.vendor, ["ok1", "dead1", "ok2"])
    finally:
        await provider.close()
    assert alone.kind is OutcomeKind.TOKEN_DEAD
    assert alone.reason.startswith(sim.vendor + ":")
    expected_dead = OutcomeKind.DELIVERED if sim.vendor == "xiaomi" else OutcomeKind.TOKEN_DEAD
    # MiPush reports a dead regId in a larger request only through its receipts (callback type 16).
    assert [o.kind for o in mixed] == [OutcomeKind.DELIVERED, expected_dead, OutcomeKind.DELIVERED]


@pytest.mark.parametrize("fault", ["flow_control", "unavailable"])
async def test_flow_control_and_unavailability_retry(sim: VendorSimulatorHandle, fault: str) -> None:
    await sim.aset_faults({"error_rates": {fault: 1.0}})
    provider = provider_for(sim)
    try:
        outcome = await provider.send(dispatch(sim.vendor, "tok"))
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.RETRY


async def test_an_outage_retries(sim: VendorSimulatorHandle) -> None:
    provider = provider_for(sim)
    try:
        await provider.send(dispatch(sim.vendor, "warm"))  # auth first, then the outage
        await sim.aset_outage(True)
        outcome = await provider.send(dispatch(sim.vendor, "tok"))
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.RETRY


async def test_quota_spent_where_the_vendor_says_so(sim: VendorSimulatorHandle) -> None:
    await sim.aset_faults({"marketing_per_device_day": 1})
    provider = provider_for(sim)
    try:
        first = await provider.send(dispatch(sim.vendor, "tok"))
        second = await provider.send(
            dispatch(sim.vendor, "tok", NotificationSpec(Content(title="Again", body="x")))
        )
    finally:
        await provider.close()
    assert first.kind is OutcomeKind.DELIVERED
    if sim.vendor in ("xiaomi", "oppo"):
        assert second.kind is OutcomeKind.QUOTA_SPENT
    else:  # Huawei, Honor and vivo drop it silently: the gate must hold quotas before sending
        assert second.kind is OutcomeKind.DELIVERED
        assert (await sim.astats())["dropped_by_quota"] == 1


def _sent(vendor: str, request: dict[str, Any]) -> dict[str, Any]:
    """The message as the vendor received it, whatever its encoding."""
    payload = request["payload"]
    if vendor == "xiaomi":
        return {k: v[0] for k, v in parse_qs(payload).items()}
    if vendor == "oppo":
        import orjson

        return dict(orjson.loads(parse_qs(payload)["message"][0])["notification"])
    return dict(payload)


async def test_service_and_marketing_shapes_reach_the_vendor(sim: VendorSimulatorHandle) -> None:
    provider = provider_for(sim)
    try:
        assert (await provider.send(dispatch(sim.vendor, "svc", ORDERS))).kind is OutcomeKind.DELIVERED
        assert (await provider.send(dispatch(sim.vendor, "mkt", SPEC))).kind is OutcomeKind.DELIVERED
    finally:
        await provider.close()
    service = _sent(sim.vendor, (await sim.areceived("svc"))[0])
    marketing = _sent(sim.vendor, (await sim.areceived("mkt"))[0])
    if sim.vendor == "huawei":
        assert service["message"]["android"]["category"] == "EXPRESS"
        assert marketing["message"]["android"]["category"] == "MARKETING"
    elif sim.vendor == "honor":
        assert service["android"]["notification"]["importance"] == "NORMAL"
        assert marketing["android"]["notification"]["importance"] == "LOW"
    elif sim.vendor == "xiaomi":
        assert service["extra.channel_id"] == "service"
        assert "extra.channel_id" not in marketing
    elif sim.vendor == "oppo":
        assert (service["channel_id"], service["category"], service["notify_level"]) == (
            "service",
            "ORDER",
            2,
        )
        assert "category" not in marketing
    else:
        assert (service["classification"], service["category"]) == (1, "ORDER")
        assert marketing["classification"] == 0
    assert (await sim.astats())["by_class"] == {"service": 1, "marketing": 1}


async def test_two_notifications_with_the_same_words_are_two_pushes(sim: VendorSimulatorHandle) -> None:
    provider = provider_for(sim)
    try:
        outcomes = await asyncio.gather(
            provider.send(Dispatch(1, "app", "ntf_a", sim.vendor, "tok", SPEC, None, 1)),
            provider.send(Dispatch(2, "app", "ntf_b", sim.vendor, "tok", SPEC, None, 1)),
        )
    finally:
        await provider.close()
    assert [o.kind for o in outcomes] == [OutcomeKind.DELIVERED] * 2
    assert (await sim.atoken_counts())["tok"]["delivered"] == 2
