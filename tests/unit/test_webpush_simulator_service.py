"""The simulated push service in process: the checks real services make, seeded faults, decryption."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pushwise.domain.clock import ManualClock
from pushwise.providers.vapid import VapidSigner
from pushwise.providers.webpush_crypto import b64url_decode, encrypt
from pushwise.simulators.webpush.faults import FaultConfigError, parse_faults
from pushwise.simulators.webpush.service import SimulatedPushService

ORIGIN = "http://127.0.0.1:9"
NOW = 1_800_000_000.0


def service(**faults: object) -> SimulatedPushService:
    return SimulatedPushService(ORIGIN, faults=parse_faults(faults), seed=3, clock=lambda: NOW)


def signer() -> VapidSigner:
    return VapidSigner(ec.generate_private_key(ec.SECP256R1()), "mailto:a@example.com", ManualClock(NOW))


def push(sim: SimulatedPushService, body: bytes = b"{}", **headers: str) -> tuple[int, str]:
    subscription = sim.subscriptions.create()
    keys = subscription["keys"]
    sealed = encrypt(body, b64url_decode(keys["p256dh"]), b64url_decode(keys["auth"])) if body else b""
    sent = {"ttl": "60", "content-encoding": "aes128gcm", "authorization": signer().authorization(ORIGIN)}
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    path = subscription["endpoint"][len(ORIGIN) :]
    reply = sim.answer("POST", path, sent, sealed)
    return reply.status, path.rsplit("/", 1)[-1]


def test_accepted_push_is_decrypted_and_recorded() -> None:
    sim = service()
    status, sub_id = push(sim, b'{"title": "hi"}')
    assert status == 201
    [received] = sim.recorder.pushes_for(sub_id)
    assert received["payload"] == {"title": "hi"}
    assert sim.recorder.counts() == {sub_id: {"received": 1, "delivered": 1}}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"ttl": "soon"}, 400),
        ({"content_encoding": "aesgcm"}, 400),
        ({"topic": "t" * 33}, 400),
        ({"urgency": "urgent"}, 400),
        ({"authorization": "vapid t=x, k=y"}, 401),
        ({"authorization": ""}, 401),
    ],
)
def test_invalid_requests_are_refused_like_real_services(headers: dict[str, str], status: int) -> None:
    assert push(service(), **headers)[0] == status


def test_body_over_4096_bytes_is_413() -> None:
    sim = service()
    subscription = sim.subscriptions.create()
    path = subscription["endpoint"][len(ORIGIN) :]
    headers = {"ttl": "0", "content-encoding": "aes128gcm", "authorization": signer().authorization(ORIGIN)}
    assert sim.answer("POST", path, headers, bytes(4097)).status == 413


def test_push_without_payload_needs_no_content_encoding() -> None:
    assert push(service(), b"", content_encoding="")[0] == 201


def test_faults_are_seeded_and_repeat_after_reset() -> None:
    sim = service(statuses={"503": 0.3, "410": 0.2}, retry_after_seconds=4)
    first = [push(sim)[0] for _ in range(40)]
    sim.reset()
    assert [push(sim)[0] for _ in range(40)] == first
    assert {201, 410, 503} == set(first)


def test_fault_configuration_is_validated() -> None:
    for bad in ({"statuses": {"418": 0.1}}, {"statuses": {"500": 0.7, "503": 0.7}}, {"latency": 1}):
        with pytest.raises(FaultConfigError):
            parse_faults(bad)
