"""Both HTTP/2 transports against a loopback h2 peer: the `Http2Transport` contract.

The same suite runs on pyreqwest (the default) and the `h2` fallback, so either can
carry the APNs provider.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest

from pushwise.providers.base import open_connections
from pushwise.providers.http2.h2_transport import H2Transport
from pushwise.providers.http2.options import ConnectionOptions
from pushwise.providers.http2.pyreqwest_transport import PyreqwestTransport
from pushwise.providers.transport import Http2Transport, TransportError
from tests.integration.h2_test_peer import H2TestPeer, PeerBehaviour

pytestmark = pytest.mark.integration

TransportFactory = Callable[[ConnectionOptions], Http2Transport]


@pytest.fixture(params=[PyreqwestTransport, H2Transport], ids=["pyreqwest", "h2"])
def make_transport(request: pytest.FixtureRequest) -> TransportFactory:
    factory: TransportFactory = request.param
    return factory


@pytest.fixture
async def peer() -> AsyncIterator[H2TestPeer]:
    server = H2TestPeer()
    await server.start()
    yield server
    await server.stop()


async def _outcomes(transport: Http2Transport, base: str, n: int, timeout: float = 5.0) -> Counter[object]:
    async def one(i: int) -> object:
        try:
            response = await transport.request(
                "POST",
                f"{base}/3/device/{i}",
                headers={"x-n": str(i)},
                body=b'{"n": %d}' % i,
                timeout=timeout,
            )
        except TransportError as error:
            return error.reason
        return response.status

    return Counter(await asyncio.gather(*(one(i) for i in range(n))))


async def test_requests_arrive_over_tls_with_the_ca_file(
    make_transport: TransportFactory, peer: H2TestPeer
) -> None:
    peer.behaviour.body = b'{"reason": "BadTopic"}'
    peer.behaviour.status = 400
    transport = make_transport(ConnectionOptions(ca_file=peer.ca_file))
    try:
        response = await transport.request(
            "POST", peer.endpoint + "/3/device/abc", headers={"apns-topic": "t"}, body=b"{}", timeout=5.0
        )
    finally:
        await transport.close()
    assert (response.status, response.body, response.headers.get("apns-id")) == (
        400,
        b'{"reason": "BadTopic"}',
        "test-id",
    )
    assert peer.stats.paths == ["/3/device/abc"]
    assert peer.stats.headers[0]["apns-topic"] == "t"
    assert peer.stats.bodies == [b"{}"]


async def test_a_burst_is_spread_over_the_configured_connections_within_the_stream_cap(
    make_transport: TransportFactory, peer: H2TestPeer
) -> None:
    transport = make_transport(
        ConnectionOptions(connections=3, max_streams_per_connection=8, ca_file=peer.ca_file)
    )
    try:
        outcomes = await _outcomes(transport, peer.endpoint, 600)
        assert open_connections(transport) == 3  # what `pushwise_provider_connections` reports
    finally:
        await transport.close()
    assert open_connections(transport) == 0
    assert outcomes == Counter({200: 600})
    assert peer.stats.connections == 3
    assert 1 < peer.stats.peak_streams_per_connection <= 8


async def test_the_peers_stream_limit_is_respected(make_transport: TransportFactory) -> None:
    server = H2TestPeer(PeerBehaviour(max_concurrent_streams=4, delay=0.01))
    endpoint = await server.start()
    transport = make_transport(ConnectionOptions(connections=1, ca_file=server.ca_file))
    try:
        outcomes = await _outcomes(transport, endpoint, 100)
    finally:
        await transport.close()
        await server.stop()
    assert outcomes == Counter({200: 100})
    assert server.stats.peak_streams_per_connection <= 4


async def test_cleartext_http2_with_prior_knowledge(make_transport: TransportFactory) -> None:
    server = H2TestPeer(tls=False)
    endpoint = await server.start()
    transport = make_transport(ConnectionOptions(prior_knowledge=True))
    try:
        outcomes = await _outcomes(transport, endpoint, 20)
    finally:
        await transport.close()
        await server.stop()
    assert outcomes == Counter({200: 20})


@pytest.mark.parametrize(
    ("behaviour", "reasons"),
    [
        (PeerBehaviour(goaway_after_streams=3, delay=0.02), {"GoAway", "ConnectionLost"}),
        (PeerBehaviour(drop_after_streams=3, delay=0.02), {"ConnectionLost"}),
    ],
    ids=["goaway", "dropped"],
)
async def test_a_lost_connection_fails_in_flight_requests_and_is_replaced(
    make_transport: TransportFactory, behaviour: PeerBehaviour, reasons: set[str]
) -> None:
    server = H2TestPeer(behaviour)
    endpoint = await server.start()
    transport = make_transport(ConnectionOptions(connections=1, ca_file=server.ca_file))
    try:
        outcomes = await _outcomes(transport, endpoint, 20)
        failures = {reason for reason in outcomes if reason != 200}
        assert failures
        assert failures <= reasons
        server.behaviour = PeerBehaviour()
        assert await _outcomes(transport, endpoint, 5) == Counter({200: 5})
        assert open_connections(transport) == 1  # the replacement, not the lost one
    finally:
        await transport.close()
        await server.stop()
    assert server.stats.connections >= 2


async def test_the_default_deadline_holds_and_a_request_may_name_another(
    make_transport: TransportFactory, peer: H2TestPeer
) -> None:
    # pyreqwest builds the default deadline into the client instead of giving every request its own.
    peer.behaviour.delay = 0.5
    transport = make_transport(ConnectionOptions(ca_file=peer.ca_file, request_timeout=0.2))
    try:
        assert await _outcomes(transport, peer.endpoint, 2, timeout=0.2) == Counter({"Timeout": 2})
        assert await _outcomes(transport, peer.endpoint, 2, timeout=5.0) == Counter({200: 2})
    finally:
        await transport.close()


async def test_a_slow_answer_is_a_timeout_and_the_connection_stays_usable(
    make_transport: TransportFactory, peer: H2TestPeer
) -> None:
    peer.behaviour.delay = 1.0
    transport = make_transport(ConnectionOptions(ca_file=peer.ca_file))
    try:
        assert await _outcomes(transport, peer.endpoint, 3, timeout=0.2) == Counter({"Timeout": 3})
        peer.behaviour.delay = 0.0
        assert await _outcomes(transport, peer.endpoint, 3) == Counter({200: 3})
    finally:
        await transport.close()


async def test_connect_and_tls_failures_are_named(make_transport: TransportFactory, peer: H2TestPeer) -> None:
    transport = make_transport(ConnectionOptions(connect_timeout=2.0))
    try:
        assert await _outcomes(transport, "https://127.0.0.1:1", 1) == Counter({"ConnectError": 1})
        # The peer's CA is not trusted by this transport.
        assert await _outcomes(transport, peer.endpoint, 1) == Counter({"TlsError": 1})
    finally:
        await transport.close()
