"""The APNs simulator driven over the network by real HTTP/2 clients (pyreqwest, raw h2 frames, httpx)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from hpack import Decoder
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame, RstStreamFrame
from pyreqwest.client import Client, ClientBuilder

from pushwise.simulators.apns import ApnsSimulatorHandle, SimulatorControlError, start_apns_simulator
from pushwise.simulators.apns.auth import new_signing_key

pytestmark = pytest.mark.integration

TOKEN = "ab" * 32
BODY = b'{"aps":{"alert":{"title":"Order shipped"}}}'


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def reason(self) -> str:
        reason: str = orjson.loads(self.body)["reason"]
        return reason


def bearer(sim: ApnsSimulatorHandle, *, iat: float | None = None, key_pem: str | None = None) -> str:
    claims = {"iss": sim.team_id, "iat": int(time.time() if iat is None else iat)}
    token = jwt.encode(claims, key_pem or sim.private_key_pem, algorithm="ES256", headers={"kid": sim.key_id})
    return f"bearer {token}"


def client_for(sim: ApnsSimulatorHandle, *, identity: bool = False) -> Client:
    builder = ClientBuilder().http2(True).timeout(timedelta(seconds=10))
    if sim.ca_file:
        builder = builder.add_root_certificate_pem(Path(sim.ca_file).read_bytes())
    else:
        builder = builder.http2_prior_knowledge()
    if identity and sim.client_identity_file:
        builder = builder.identity_pem(Path(sim.client_identity_file).read_bytes())
    return builder.build()


async def post(
    client: Client,
    sim: ApnsSimulatorHandle,
    token: str = TOKEN,
    *,
    headers: dict[str, str | None] | None = None,
    body: bytes = BODY,
    method: str = "POST",
    path: str | None = None,
) -> Answer:
    merged: dict[str, str | None] = {"authorization": bearer(sim), "apns-topic": sim.topic, **(headers or {})}
    request = client.request(method, f"{sim.endpoint}{path or f'/3/device/{token}'}").body_bytes(body)
    for name, value in merged.items():
        if value is not None:
            request = request.header(name, value)
    response = await request.build().send()
    return Answer(response.status, dict(response.headers), bytes(await response.bytes()))


@pytest.fixture(scope="module", params=["granian", "h2"])
def shared_sim(request: pytest.FixtureRequest) -> Iterator[ApnsSimulatorHandle]:
    with start_apns_simulator(tls=True, engine=request.param, seed=5) as sim:
        yield sim


@pytest.fixture
def sim(shared_sim: ApnsSimulatorHandle) -> ApnsSimulatorHandle:
    shared_sim.set_faults({})
    shared_sim.set_outage(False)
    shared_sim.reset()
    return shared_sim


@pytest.fixture
async def client(sim: ApnsSimulatorHandle) -> AsyncIterator[Client]:
    async with client_for(sim) as http:
        yield http


async def test_delivers_over_tls_trusting_the_ca_file(sim: ApnsSimulatorHandle, client: Client) -> None:
    apns_id = str(uuid.uuid4())
    answer = await post(client, sim, headers={"apns-id": apns_id, "apns-push-type": "alert"})
    assert (answer.status, answer.body, answer.headers["apns-id"]) == (200, b"", apns_id)
    assert uuid.UUID(answer.headers["apns-unique-id"])
    assert sim.token_counts() == {TOKEN: {"received": 1, "delivered": 1}}
    [seen] = sim.received(TOKEN)
    assert seen["payload"] == orjson.loads(BODY)
    assert seen["headers"]["apns-push-type"] == "alert"


async def test_new_apns_id_when_the_request_has_none(sim: ApnsSimulatorHandle, client: Client) -> None:
    assert uuid.UUID((await post(client, sim)).headers["apns-id"])


def _payload(size: int) -> bytes:
    skeleton = len(orjson.dumps({"aps": {"alert": ""}}))
    return orjson.dumps({"aps": {"alert": "x" * (size - skeleton)}})


VALIDATION_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("no topic", {"headers": {"apns-topic": None}}, 400, "MissingTopic"),
    ("other app", {"headers": {"apns-topic": "com.other.app"}}, 400, "TopicDisallowed"),
    ("bad suffix", {"headers": {"apns-topic": "com.example.shop.nope"}}, 400, "BadTopic"),
    ("push type", {"headers": {"apns-push-type": "banner"}}, 400, "InvalidPushType"),
    ("priority", {"headers": {"apns-priority": "3"}}, 400, "BadPriority"),
    ("expiration", {"headers": {"apns-expiration": "soon"}}, 400, "BadExpirationDate"),
    ("collapse id", {"headers": {"apns-collapse-id": "c" * 65}}, 400, "BadCollapseId"),
    ("apns-id", {"headers": {"apns-id": "42"}}, 400, "BadMessageId"),
    ("token", {"token": "not-hex"}, 400, "BadDeviceToken"),
    ("empty", {"body": b""}, 400, "PayloadEmpty"),
    ("no aps", {"body": b'{"alert": "hi"}'}, 400, "PayloadEmpty"),
    ("too large", {"body": _payload(4097)}, 413, "PayloadTooLarge"),
    (
        "voip too large",
        {"body": _payload(5121), "headers": {"apns-push-type": "voip"}},
        413,
        "PayloadTooLarge",
    ),
    ("method", {"method": "GET", "body": b""}, 405, "MethodNotAllowed"),
    ("path", {"path": "/3/devices/abcd"}, 404, "BadPath"),
    ("no jwt", {"headers": {"authorization": None}}, 403, "MissingProviderToken"),
]


@pytest.mark.parametrize(
    ("case", "request_parts", "status", "reason"), VALIDATION_CASES, ids=[c[0] for c in VALIDATION_CASES]
)
async def test_validation_reasons(
    sim: ApnsSimulatorHandle,
    client: Client,
    case: str,
    request_parts: dict[str, Any],
    status: int,
    reason: str,
) -> None:
    answer = await post(client, sim, **request_parts)
    assert (answer.status, answer.reason) == (status, reason)
    assert answer.headers["content-type"] == "application/json"


async def test_voip_allows_larger_payloads(sim: ApnsSimulatorHandle, client: Client) -> None:
    headers = {"apns-push-type": "voip", "apns-topic": f"{sim.topic}.voip"}
    assert (await post(client, sim, headers=headers, body=_payload(5120))).status == 200


async def test_bad_signature_and_expired_tokens(sim: ApnsSimulatorHandle, client: Client) -> None:
    forged = await post(
        client, sim, headers={"authorization": bearer(sim, key_pem=new_signing_key().private_key_pem)}
    )
    assert (forged.status, forged.reason) == (403, "InvalidProviderToken")
    expired = await post(client, sim, headers={"authorization": bearer(sim, iat=time.time() - 3700)})
    assert (expired.status, expired.reason) == (403, "ExpiredProviderToken")
    assert sim.stats()["by_reason"] == {"InvalidProviderToken": 1, "ExpiredProviderToken": 1}


async def test_dead_tokens_answer_410_with_timestamp(sim: ApnsSimulatorHandle, client: Client) -> None:
    sim.set_faults({"dead_tokens": ["cd" * 32], "dead_token_prefix": "dead"})
    before_ms = time.time() * 1000
    for token in ("cd" * 32, "dead" + "0" * 60):
        answer = await post(client, sim, token)
        assert (answer.status, answer.reason) == (410, "Unregistered")
        assert orjson.loads(answer.body)["timestamp"] >= before_ms - 1000
    assert (await post(client, sim)).status == 200


@pytest.mark.parametrize(
    ("reason", "status", "retry_after"),
    [
        ("ServiceUnavailable", 503, "4"),
        ("TooManyRequests", 429, "4"),
        ("InternalServerError", 500, None),
        ("Unregistered", 410, None),
        ("ExpiredProviderToken", 403, None),
        ("PayloadTooLarge", 413, None),
        ("BadDeviceToken", 400, None),
    ],
)
async def test_injected_reasons_come_with_their_status(
    sim: ApnsSimulatorHandle, client: Client, reason: str, status: int, retry_after: str | None
) -> None:
    sim.set_faults({"reasons": {reason: 1.0}, "retry_after_seconds": 4})
    answer = await post(client, sim)
    assert (answer.status, answer.reason, answer.headers.get("retry-after")) == (status, reason, retry_after)


async def test_injected_faults_repeat_after_reset_with_the_same_seed(
    sim: ApnsSimulatorHandle, client: Client
) -> None:
    sim.set_faults({"reasons": {"ServiceUnavailable": 0.3, "Unregistered": 0.2}})
    first = [(await post(client, sim, f"{i:064x}")).status for i in range(30)]
    sim.reset()
    again = [(await post(client, sim, f"{i:064x}")).status for i in range(30)]
    assert first == again
    assert set(first) == {200, 410, 503}
    counts = sim.stats()["by_status"]
    assert sum(counts.values()) == 30


async def test_latency_delays_each_response(sim: ApnsSimulatorHandle, client: Client) -> None:
    sim.set_faults({"latency_ms": {"min": 150, "max": 160}})
    started = time.perf_counter()
    assert (await post(client, sim)).status == 200
    assert time.perf_counter() - started >= 0.15


async def test_outage_switch(sim: ApnsSimulatorHandle, client: Client) -> None:
    sim.set_faults({"retry_after_seconds": 30})
    sim.set_outage(True)
    answer = await post(client, sim)
    assert (answer.status, answer.reason, answer.headers["retry-after"]) == (503, "ServiceUnavailable", "30")
    assert sim.stats()["outage"] is True
    sim.set_outage(False)
    assert (await post(client, sim)).status == 200


async def test_counts_many_tokens(sim: ApnsSimulatorHandle, client: Client) -> None:
    sim.set_faults({"dead_token_prefix": "dead"})
    tokens = [f"{i:064x}" for i in range(500)] + [f"dead{i:060x}" for i in range(100)]
    semaphore = asyncio.Semaphore(100)

    async def send(token: str) -> int:
        async with semaphore:
            return (await post(client, sim, token)).status

    await asyncio.gather(*(send(t) for t in tokens))
    await send(tokens[0])
    counts = await sim.atoken_counts()
    assert len(counts) == 600
    assert counts[tokens[0]] == {"received": 2, "delivered": 2}
    assert counts[tokens[1]] == {"received": 1, "delivered": 1}
    assert counts[tokens[-1]] == {"received": 1, "delivered": 0}
    stats = await sim.astats()
    assert (stats["total"], stats["delivered"], stats["by_reason"]) == (601, 501, {"Unregistered": 100})


async def test_async_control_calls(sim: ApnsSimulatorHandle, client: Client) -> None:
    await sim.aset_faults({"reasons": {"Shutdown": 1.0}})
    assert (await post(client, sim)).reason == "Shutdown"
    await sim.aset_outage(True)
    assert (await post(client, sim)).reason == "ServiceUnavailable"
    await sim.aset_outage(False)
    assert [r["reason"] for r in await sim.areceived(TOKEN)] == ["Shutdown", "ServiceUnavailable"]
    await sim.areset()
    assert await sim.areceived(TOKEN) == []


def test_control_refuses_unknown_reasons(sim: ApnsSimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError, match="unknown APNs reasons"):
        sim.set_faults({"reasons": {"Nope": 0.5}})


def test_granian_engine_refuses_connection_faults() -> None:
    with (
        start_apns_simulator(tls=False, engine="granian") as sim,
        pytest.raises(SimulatorControlError, match="h2"),
    ):
        sim.set_faults({"goaway_after_streams": 2})


@pytest.mark.parametrize("engine", ["granian", "h2"])
async def test_h2c_prior_knowledge(engine: str) -> None:
    with start_apns_simulator(tls=False, engine=engine) as sim:
        assert sim.endpoint.startswith("http://")
        assert sim.ca_file is None
        async with client_for(sim) as http:
            assert (await post(http, sim)).status == 200
        assert sim.stats()["engine"] == engine


@pytest.mark.parametrize("engine", ["granian", "h2"])
async def test_certificate_auth(engine: str) -> None:
    with start_apns_simulator(tls=True, engine=engine, auth="certificate") as sim:
        assert sim.client_identity_file
        async with client_for(sim, identity=True) as http:
            answer = await post(http, sim, headers={"authorization": None, "apns-topic": None})
            assert answer.status == 200
        async with client_for(sim) as anonymous:
            with pytest.raises(Exception, match="connection"):
                await post(anonymous, sim)
        assert sim.stats()["total"] == 1


def _raw_h2_requests(sim: ApnsSimulatorHandle, count: int) -> list[Frame]:
    """Send `count` requests on one h2c connection; return the frames the server sent until it closed."""
    host, port = sim.endpoint.removeprefix("http://").split(":")
    connection = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.initiate_connection()
    for index in range(count):
        stream_id = connection.get_next_available_stream_id()
        headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", host),
            (":path", f"/3/device/{index:064x}"),
            ("authorization", bearer(sim)),
            ("apns-topic", sim.topic),
        ]
        connection.send_headers(stream_id, headers)
        connection.send_data(stream_id, BODY, end_stream=True)
    received = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(connection.data_to_send())
        while chunk := sock.recv(65536):
            received += chunk
    frames = []
    view = memoryview(received)
    while view:
        frame, length = Frame.parse_frame_header(view[:9])
        frame.parse_body(view[9 : 9 + length])
        frames.append(frame)
        view = view[9 + length :]
    return frames


def test_goaway_after_n_streams_answers_up_to_last_stream_and_refuses_the_rest() -> None:
    with start_apns_simulator(tls=False, engine="h2", faults={"goaway_after_streams": 3}) as sim:
        frames = _raw_h2_requests(sim, 5)
        [goaway] = [f for f in frames if isinstance(f, GoAwayFrame)]
        assert (goaway.last_stream_id, goaway.error_code) == (5, 0)
        assert orjson.loads(goaway.additional_data) == {"reason": "Shutdown"}
        decoder = Decoder()
        statuses = {
            f.stream_id: dict(decoder.decode(f.data))[":status"]
            for f in frames
            if isinstance(f, HeadersFrame)
        }
        assert statuses == {1: "200", 3: "200", 5: "200"}
        assert {f.stream_id for f in frames if isinstance(f, RstStreamFrame)} == {7, 9}
        assert sim.stats()["connection_events"]["goaway"] == 1
        assert sim.stats()["delivered"] == 3


async def test_goaway_is_observed_by_pyreqwest() -> None:
    with start_apns_simulator(tls=True, engine="h2", faults={"goaway_after_streams": 1}) as sim:
        async with client_for(sim) as http:
            assert (await post(http, sim)).status == 200
            await asyncio.sleep(0.1)  # the client reads the GOAWAY and the close
            assert (await post(http, sim)).status == 200  # on a new connection
        assert sim.stats()["connection_events"]["goaway"] >= 2


async def test_dropped_connection_fails_in_flight_requests() -> None:
    with start_apns_simulator(tls=True, engine="h2", faults={"drop_connection_rate": 1.0}) as sim:
        async with client_for(sim) as http:
            with pytest.raises(Exception, match="connection"):
                await post(http, sim)
        stats = sim.stats()
        assert (stats["dropped"], stats["delivered"]) == (1, 0)
        assert sim.token_counts() == {TOKEN: {"received": 1, "delivered": 0}}
        sim.set_faults({"drop_connection_rate": 0.0})
        async with client_for(sim) as http:
            assert (await post(http, sim)).status == 200


def test_cli_prints_credentials_and_serves(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-c",
        "from pushwise.simulators.cli import simulate_app; simulate_app()",
        "apns",
        "--port",
        str(port),
        "--no-tls",
        "--workdir",
        str(tmp_path),
        "--fault-rate",
        "TooManyRequests=1",
        "--dead-token-prefix",
        "dead",
        "--latency-ms",
        "0:1",
        "--seed",
        "3",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().decode().split(":", 1) for _ in range(8)]
        printed = {name.strip(): value.strip() for name, value in lines}
        assert printed["endpoint"] == f"http://127.0.0.1:{port}"
        assert Path(printed["private key (.p8)"]).read_text().startswith("-----BEGIN PRIVATE KEY-----")
        with httpx.Client(http1=False, http2=True) as control:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    faults = control.get(f"{printed['control url']}/faults").json()
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            assert faults["reasons"] == {"TooManyRequests": 1.0}
            assert faults["dead_token_prefix"] == "dead"
    finally:
        process.terminate()
        process.wait(timeout=10)
