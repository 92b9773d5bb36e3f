"""The simulated APNs service, independent of the HTTP/2 engine that carries it.

An engine hands each request over as method, path, headers and body and gets a
`Reply` back: what to answer, after how long, or to drop the connection
instead. Keeping this engine-agnostic lets the fast granian engine and the
`h2` engine (connection faults, GOAWAY) behave identically.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from pushwise.domain.clock import Clock, SystemClock
from pushwise.simulators.apns.auth import ProviderTokenVerifier
from pushwise.simulators.apns.faults import FaultConfig
from pushwise.simulators.apns.reasons import REASON_STATUS, RETRY_AFTER_STATUSES
from pushwise.simulators.apns.recording import Recorder
from pushwise.simulators.apns.validation import TopicRule, device_token, request_problem

_JSON = ("content-type", "application/json")
# Version 4 in bits 76-79, RFC 4122 variant in bits 62-63.
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)
_ERROR_BODIES = {reason: orjson.dumps({"reason": reason}) for reason in REASON_STATUS}


class RequestHeaders(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def items(self) -> Iterable[tuple[str, str]]: ...


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    delay_s: float = 0.0
    drop_connection: bool = False  # close the connection without answering in-flight streams


class SimulatedApns:
    """Apple's provider API behaviour: authentication, validation, dead tokens and injected faults."""

    def __init__(
        self,
        *,
        topic_rule: TopicRule,
        verifier: ProviderTokenVerifier | None,
        faults: FaultConfig,
        seed: int = 0,
        clock: Clock | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.topic_rule = topic_rule
        self.verifier = verifier  # None: certificate auth, the TLS handshake already checked the client
        self.recorder = recorder or Recorder()
        self._clock = clock or SystemClock()
        self._seed = seed
        self.rng = random.Random(seed)
        self.faults = faults
        self._apply_token_age()

    def set_faults(self, faults: FaultConfig) -> None:
        self.faults = faults
        self._apply_token_age()

    def set_outage(self, on: bool) -> None:
        self.faults = replace(self.faults, outage=on)

    def reset(self) -> None:
        """Forget what was received and restart the random sequence, so runs after a reset repeat."""
        self.recorder.reset()
        self.rng = random.Random(self._seed)

    def answer(self, method: str, path: str, headers: RequestHeaders, body: bytes) -> Reply:
        faults = self.faults
        token = device_token(path)
        if method != "POST":
            reason: str | None = "MethodNotAllowed"
        elif token is None:
            reason = "BadPath"
        elif faults.drop_connection_rate and self.rng.random() < faults.drop_connection_rate:
            self._record(token, headers, body, 0, "")
            return Reply(0, [], b"", faults.latency_s(self.rng), drop_connection=True)
        elif faults.outage:
            reason = "ServiceUnavailable"
        else:
            reason = self._problem(headers, token, body)
        status = REASON_STATUS[reason] if reason else 200
        self._record(token, headers, body, status, reason or "")
        reply_headers = [("apns-id", self._apns_id(headers.get("apns-id")))]
        if reason is None:
            reply_headers.append(("apns-unique-id", self._new_uuid()))
            return Reply(200, reply_headers, b"", faults.latency_s(self.rng))
        reply_headers.append(_JSON)
        if status in RETRY_AFTER_STATUSES and faults.retry_after_seconds is not None:
            reply_headers.append(("retry-after", str(faults.retry_after_seconds)))
        return Reply(status, reply_headers, self._error_body(reason, status), faults.latency_s(self.rng))

    def _problem(self, headers: RequestHeaders, token: str, body: bytes) -> str | None:
        if self.verifier is not None:
            auth_problem = self.verifier.problem(headers.get("authorization"), self._clock.now())
            if auth_problem:
                return auth_problem
        problem = request_problem(headers.get, token, body, self.topic_rule)
        if problem:
            return problem
        if self.faults.is_dead(token):
            return "Unregistered"
        return self.faults.injected_reason(self.rng)

    def _error_body(self, reason: str, status: int) -> bytes:
        if status == 410:
            # Apple reports when it learned the token was no longer valid, in milliseconds.
            return orjson.dumps({"reason": reason, "timestamp": int(self._clock.now() * 1000)})
        return _ERROR_BODIES[reason]

    def _apns_id(self, requested: str | None) -> str:
        if requested and len(requested) == 36:
            return requested
        return self._new_uuid()

    def _new_uuid(self) -> str:
        """A random (version 4) UUID from the seeded sequence, formatted without `uuid.UUID`'s cost."""
        bits = (self.rng.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _record(
        self, token: str | None, headers: RequestHeaders, body: bytes, status: int, reason: str
    ) -> None:
        self.recorder.record(token, dict(headers.items()), body, status, reason, self._clock.now())

    def _apply_token_age(self) -> None:
        if self.verifier is not None:
            self.verifier.max_age_s = self.faults.token_max_age_s
