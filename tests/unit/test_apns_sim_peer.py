"""The simulated APNs service and its control API, without any network."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import orjson
import pytest

from pushwise.domain.clock import ManualClock
from pushwise.simulators.apns.auth import ProviderTokenVerifier, SigningKey, new_signing_key
from pushwise.simulators.apns.control import ControlApi
from pushwise.simulators.apns.faults import parse_faults
from pushwise.simulators.apns.peer import Reply, SimulatedApns
from pushwise.simulators.apns.validation import TopicRule

TOKEN = "ab" * 32
BODY = b'{"aps":{"alert":"hi"}}'


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_signing_key()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _apns(
    key: SigningKey, clock: ManualClock, faults: dict[str, Any] | None = None, seed: int = 0
) -> SimulatedApns:
    return SimulatedApns(
        topic_rule=TopicRule("com.example.shop"),
        verifier=ProviderTokenVerifier(key.team_id, {key.key_id: key.public_key_pem()}),
        faults=parse_faults(faults),
        seed=seed,
        clock=clock,
    )


def _headers(key: SigningKey, clock: ManualClock, **extra: str) -> dict[str, str]:
    token = jwt.encode(
        {"iss": key.team_id, "iat": int(clock.now())},
        key.private_key_pem,
        algorithm="ES256",
        headers={"kid": key.key_id},
    )
    return {"authorization": f"bearer {token}", "apns-topic": "com.example.shop", **extra}


def _send(apns: SimulatedApns, headers: dict[str, str], token: str = TOKEN, body: bytes = BODY) -> Reply:
    return apns.answer("POST", f"/3/device/{token}", headers, body)


def _reason(reply: Reply) -> str:
    reason: str = orjson.loads(reply.body)["reason"]
    return reason


def test_success_echoes_apns_id_and_adds_a_unique_id(key: SigningKey, clock: ManualClock) -> None:
    apns_id = str(uuid.uuid4())
    reply = _send(_apns(key, clock), _headers(key, clock, **{"apns-id": apns_id}))
    headers = dict(reply.headers)
    assert (reply.status, reply.body, headers["apns-id"]) == (200, b"", apns_id)
    assert uuid.UUID(headers["apns-unique-id"]).version == 4


def test_success_without_apns_id_gets_a_new_one(key: SigningKey, clock: ManualClock) -> None:
    reply = _send(_apns(key, clock), _headers(key, clock))
    assert uuid.UUID(dict(reply.headers)["apns-id"])


@pytest.mark.parametrize(
    ("method", "path", "status", "reason"),
    [("GET", f"/3/device/{TOKEN}", 405, "MethodNotAllowed"), ("POST", "/3/devices/x", 404, "BadPath")],
)
def test_method_and_path(
    key: SigningKey, clock: ManualClock, method: str, path: str, status: int, reason: str
) -> None:
    reply = _apns(key, clock).answer(method, path, _headers(key, clock), BODY)
    assert (reply.status, _reason(reply)) == (status, reason)


def test_expired_provider_token(key: SigningKey, clock: ManualClock) -> None:
    apns = _apns(key, clock)
    headers = _headers(key, clock)
    clock.advance(3601)
    reply = _send(apns, headers)
    assert (reply.status, _reason(reply)) == (403, "ExpiredProviderToken")


def test_dead_token_answers_410_with_a_millisecond_timestamp(key: SigningKey, clock: ManualClock) -> None:
    apns = _apns(key, clock, {"dead_token_prefix": "dead"})
    reply = _send(apns, _headers(key, clock), token="dead" + "00" * 30)
    assert reply.status == 410
    assert orjson.loads(reply.body) == {"reason": "Unregistered", "timestamp": int(clock.now() * 1000)}


def test_injected_reason_carries_its_status_and_retry_after(key: SigningKey, clock: ManualClock) -> None:
    apns = _apns(key, clock, {"reasons": {"TooManyRequests": 1.0}, "retry_after_seconds": 7})
    reply = _send(apns, _headers(key, clock))
    assert (reply.status, _reason(reply), dict(reply.headers)["retry-after"]) == (429, "TooManyRequests", "7")


def test_outage_answers_503_until_switched_off(key: SigningKey, clock: ManualClock) -> None:
    apns = _apns(key, clock)
    apns.set_outage(True)
    reply = _send(apns, _headers(key, clock))
    assert (reply.status, _reason(reply)) == (503, "ServiceUnavailable")
    apns.set_outage(False)
    assert _send(apns, _headers(key, clock)).status == 200


def test_drop_decision_is_recorded_as_status_zero(key: SigningKey, clock: ManualClock) -> None:
    apns = _apns(key, clock, {"drop_connection_rate": 1.0})
    assert _send(apns, _headers(key, clock)).drop_connection
    assert apns.recorder.stats()["dropped"] == 1
    assert apns.recorder.token_counts() == {TOKEN: {"received": 1, "delivered": 0}}


def test_recording_counts_tokens_statuses_and_keeps_requests(key: SigningKey, clock: ManualClock) -> None:
    apns = _apns(key, clock, {"dead_tokens": ["cd" * 32]})
    headers = _headers(key, clock, **{"apns-push-type": "alert"})
    _send(apns, headers)
    _send(apns, headers)
    _send(apns, headers, token="cd" * 32)
    recorder = apns.recorder
    assert recorder.token_counts() == {
        TOKEN: {"received": 2, "delivered": 2},
        "cd" * 32: {"received": 1, "delivered": 0},
    }
    stats = recorder.stats()
    assert (stats["total"], stats["by_status"], stats["by_reason"]) == (
        3,
        {"200": 2, "410": 1},
        {"Unregistered": 1},
    )
    [first, second] = recorder.requests_for(TOKEN)
    assert first["payload"] == {"aps": {"alert": "hi"}}
    assert first["headers"]["apns-push-type"] == "alert"
    assert (second["status"], second["at"]) == (200, clock.now())


def test_reset_forgets_and_repeats_the_random_sequence(key: SigningKey, clock: ManualClock) -> None:
    apns = _apns(key, clock, {"reasons": {"InternalServerError": 0.5}}, seed=11)
    headers = _headers(key, clock)
    first = [_send(apns, headers).status for _ in range(20)]
    apns.reset()
    assert apns.recorder.stats()["total"] == 0
    assert [_send(apns, headers).status for _ in range(20)] == first
    assert set(first) == {200, 500}


def _control(apns: SimulatedApns, connection_faults: bool = False) -> ControlApi:
    return ControlApi(apns, engine="test", connection_faults=connection_faults)


def test_control_reads_stats_tokens_and_requests(key: SigningKey, clock: ManualClock) -> None:
    apns = _apns(key, clock)
    _send(apns, _headers(key, clock))
    control = _control(apns)
    assert orjson.loads(control.answer("GET", "/_sim/stats", b"").body)["delivered"] == 1
    assert orjson.loads(control.answer("GET", "/_sim/tokens", b"").body) == {
        TOKEN: {"received": 1, "delivered": 1}
    }
    [request] = orjson.loads(control.answer("GET", f"/_sim/tokens/{TOKEN}", b"").body)
    assert request["status"] == 200
    assert control.answer("POST", "/_sim/reset", b"").status == 200
    assert orjson.loads(control.answer("GET", "/_sim/tokens", b"").body) == {}


def test_control_replaces_faults_and_keeps_the_outage_switch(key: SigningKey, clock: ManualClock) -> None:
    apns = _apns(key, clock)
    control = _control(apns)
    assert control.answer("PUT", "/_sim/outage", b'{"on": true}').status == 200
    reply = control.answer("PUT", "/_sim/faults", orjson.dumps({"dead_token_prefix": "dead"}))
    assert reply.status == 200
    assert apns.faults.outage
    assert apns.faults.dead_token_prefix == "dead"


@pytest.mark.parametrize(
    ("body", "status"),
    [(b'{"reasons": {"Nope": 1}}', 400), (b'{"goaway_after_streams": 3}', 409), (b"{not json", 400)],
)
def test_control_refuses_bad_or_unsupported_faults(
    key: SigningKey, clock: ManualClock, body: bytes, status: int
) -> None:
    apns = _apns(key, clock)
    assert _control(apns).answer("PUT", "/_sim/faults", body).status == status
    assert apns.faults == parse_faults(None)


def test_control_unknown_route(key: SigningKey, clock: ManualClock) -> None:
    assert _control(_apns(key, clock)).answer("GET", "/_sim/nothing", b"").status == 404
