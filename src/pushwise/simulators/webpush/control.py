"""The runtime control API under `/_sim/` on the simulator's own port.

The shared routes of `pushwise.simulators.control` (faults, outage, reset), plus:

GET  /_sim/health                         -> {"ok": true, "origin": ..., "decrypt": bool}
POST /_sim/subscriptions  {"count": n, "application_server_key": k?} -> [PushSubscription.toJSON()]
GET  /_sim/stats                          -> counters by status, totals, undecryptable
GET  /_sim/counts                         -> {subscription id: {"received": n, "delivered": n}}
GET  /_sim/received/{subscription id}     -> recent accepted pushes: headers, decrypted plaintext
"""

from __future__ import annotations

from typing import Any

import orjson

from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.control import CONTROL_PREFIX, ControlRoutes, json_reply
from pushwise.simulators.webpush.faults import parse_faults
from pushwise.simulators.webpush.service import SimulatedPushService

__all__ = ["CONTROL_PREFIX", "MAX_SUBSCRIPTIONS_PER_CALL", "PushControlApi"]

MAX_SUBSCRIPTIONS_PER_CALL = 200_000


class PushControlApi(ControlRoutes):
    def __init__(self, service: SimulatedPushService) -> None:
        super().__init__(service)
        self._service = service

    def _provider_route(self, method: str, route: str, body: bytes) -> Reply | None:
        service = self._service
        recorder = service.recorder
        if method == "GET":
            if route == "health":
                health = {"ok": True, "origin": service.origin, "decrypt": service.decrypt_messages}
                return json_reply(200, health)
            if route == "stats":
                return json_reply(200, {**recorder.stats(), "outage": service.faults.outage})
            if route == "counts":
                return json_reply(200, recorder.counts())
            if route.startswith("received/"):
                return json_reply(200, recorder.pushes_for(route[len("received/") :]))
        if method == "POST" and route == "subscriptions":
            return self._subscribe(orjson.loads(body or b"{}"))
        return None

    def _replace_faults(self, raw: dict[str, Any]) -> Reply:
        self._service.set_faults(parse_faults(raw))
        return json_reply(200, self._service.faults.to_dict())

    def _subscribe(self, request: dict[str, Any]) -> Reply:
        count = int(request.get("count", 1))
        if not 1 <= count <= MAX_SUBSCRIPTIONS_PER_CALL:
            raise ValueError(f"count must be within 1..{MAX_SUBSCRIPTIONS_PER_CALL}")
        key = request.get("application_server_key")
        book = self._service.subscriptions
        return json_reply(200, [book.create(key) for _ in range(count)])
