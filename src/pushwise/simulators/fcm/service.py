"""The simulated FCM service, independent of the HTTP/2 engine that carries it.

An engine hands each request over as method, path, headers and body and gets a
`Reply` (the APNs simulator's) back. Two routes: Google's OAuth2 token endpoint
(`POST /token`) and FCM's `POST /v1/projects/<project>/messages:send`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace

import orjson

from pushwise.simulators.apns.peer import Reply, RequestHeaders
from pushwise.simulators.apns.recording import Recorder
from pushwise.simulators.fcm.errors import ERROR_CODES, RETRY_AFTER_CODES, fcm_error, rpc_error
from pushwise.simulators.fcm.faults import FcmFaultConfig
from pushwise.simulators.fcm.oauth import TokenIssuer
from pushwise.simulators.fcm.validation import check_send_body

TOKEN_PATH = "/token"  # noqa: S105 - a path, not a secret
_JSON = ("content-type", "application/json; charset=UTF-8")
_UNAUTHENTICATED = rpc_error(
    401,
    "UNAUTHENTICATED",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential.",
)
_PERMISSION_DENIED = rpc_error(
    403, "PERMISSION_DENIED", "Permission denied for the project (or it may not exist)."
)


class SimulatedFcm:
    """FCM's HTTP v1 behaviour: OAuth2, validation, dead tokens and injected faults."""

    def __init__(
        self,
        *,
        project_id: str,
        issuer: TokenIssuer,
        faults: FcmFaultConfig,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        recorder: Recorder | None = None,
    ) -> None:
        self.project_id = project_id
        self.issuer = issuer
        self.recorder = recorder or Recorder()
        self.faults = faults
        self._send_path = f"/v1/projects/{project_id}/messages:send"
        self._clock = clock
        self._seed = seed
        self.rng = random.Random(seed)
        self._message_ids = 0

    def set_faults(self, faults: FcmFaultConfig) -> None:
        self.faults = faults

    def set_outage(self, on: bool) -> None:
        self.faults = replace(self.faults, outage=on)

    def reset(self) -> None:
        """Forget what was received and restart the random sequence, so runs after a reset repeat."""
        self.recorder.reset()
        self.issuer.reset_counts()
        self.rng = random.Random(self._seed)
        self._message_ids = 0

    def answer(self, method: str, path: str, headers: RequestHeaders, body: bytes) -> Reply:
        if method == "POST" and path == TOKEN_PATH:
            faults = self.faults
            grant = self.issuer.grant(
                body,
                self._clock(),
                lifetime_s=faults.access_token_lifetime_s,
                check_time=faults.check_assertion_time,
            )
            return Reply(grant.status, [_JSON], grant.body)
        if method != "POST" or not path.startswith("/v1/projects/") or not path.endswith("/messages:send"):
            return Reply(404, [_JSON], rpc_error(404, "NOT_FOUND", f"No route for {method} {path}"))
        return self._send(path, headers, body)

    def _send(self, path: str, headers: RequestHeaders, body: bytes) -> Reply:
        faults = self.faults
        delay = faults.latency_s(self.rng)
        if not self.issuer.is_valid(headers.get("authorization"), self._clock()):
            return self._reject(None, headers, body, 401, "UNAUTHENTICATED", _UNAUTHENTICATED, delay)
        if path != self._send_path:
            return self._reject(None, headers, body, 403, "PERMISSION_DENIED", _PERMISSION_DENIED, delay)
        checked = check_send_body(body)
        token = checked.token or None
        code: str | None
        if faults.outage:
            code = "UNAVAILABLE"
        elif checked.rejection is not None:
            rejection = checked.rejection
            error = fcm_error("INVALID_ARGUMENT", rejection.message, rejection.violations)
            return self._reject(token, headers, body, 400, "INVALID_ARGUMENT", error, delay)
        elif faults.is_dead(checked.token):
            code = "UNREGISTERED"
        else:
            code = faults.injected_code(self.rng)
        if code is None:
            self._message_ids += 1
            self.recorder.record(token, dict(headers.items()), body, 200, "", self._clock())
            name = f"projects/{self.project_id}/messages/0:{self._message_ids}%sim"
            return Reply(200, [_JSON], orjson.dumps({"name": name}), delay)
        reply = self._reject(token, headers, body, ERROR_CODES[code].status, code, fcm_error(code), delay)
        if code in RETRY_AFTER_CODES and faults.retry_after_seconds is not None:
            reply.headers.append(("retry-after", str(faults.retry_after_seconds)))
        return reply

    def _reject(
        self,
        token: str | None,
        headers: RequestHeaders,
        body: bytes,
        status: int,
        reason: str,
        error: bytes,
        delay: float,
    ) -> Reply:
        self.recorder.record(token, dict(headers.items()), body, status, reason, self._clock())
        return Reply(status, [_JSON], error, delay)
