"""The runtime control API under `/_sim/` on the simulator's own port.

GET  /_sim/health                         -> {"ok": true, "origin": ..., "decrypt": bool}
POST /_sim/subscriptions  {"count": n, "application_server_key": k?} -> [PushSubscription.toJSON()]
GET  /_sim/stats                          -> counters by status, totals, undecryptable
GET  /_sim/counts                         -> {subscription id: {"received": n, "delivered": n}}
GET  /_sim/received/{subscription id}     -> recent accepted pushes: headers, decrypted plaintext
POST /_sim/reset                          -> forget what was received, restart the random sequence
GET  /_sim/faults                         -> current fault configuration
PUT  /_sim/faults   {faults}              -> replace it (the outage switch is kept unless given)
PUT  /_sim/outage   {"on": bool}          -> every push answers 503 while on
"""

from __future__ import annotations

from typing import Any

import orjson

from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.webpush.faults import FaultConfigError, parse_faults
from pushwise.simulators.webpush.service import SimulatedPushService

CONTROL_PREFIX = "/_sim/"
MAX_SUBSCRIPTIONS_PER_CALL = 200_000
_JSON = [("content-type", "application/json")]


class PushControlApi:
    def __init__(self, service: SimulatedPushService) -> None:
        self._service = service

    def answer(self, method: str, path: str, body: bytes) -> Reply:
        route = path[len(CONTROL_PREFIX) :].rstrip("/")
        try:
            return self._route(method, route, body)
        except (FaultConfigError, ValueError, TypeError, KeyError) as exc:
            return _json(400, {"error": str(exc)})

    def _route(self, method: str, route: str, body: bytes) -> Reply:
        service = self._service
        recorder = service.recorder
        if method == "GET":
            if route == "health":
                return _json(200, {"ok": True, "origin": service.origin, "decrypt": service.decrypt_messages})
            if route == "stats":
                return _json(200, {**recorder.stats(), "outage": service.faults.outage})
            if route == "counts":
                return _json(200, recorder.counts())
            if route.startswith("received/"):
                return _json(200, recorder.pushes_for(route[len("received/") :]))
            if route == "faults":
                return _json(200, service.faults.to_dict())
        if method == "POST" and route == "subscriptions":
            return self._subscribe(orjson.loads(body or b"{}"))
        if method == "POST" and route == "reset":
            service.reset()
            return _json(200, {"ok": True})
        if method == "PUT" and route == "faults":
            raw = orjson.loads(body or b"{}")
            raw.setdefault("outage", service.faults.outage)
            service.set_faults(parse_faults(raw))
            return _json(200, service.faults.to_dict())
        if method == "PUT" and route == "outage":
            service.set_outage(bool(orjson.loads(body)["on"]))
            return _json(200, {"outage": service.faults.outage})
        return _json(404, {"error": f"no control route {method} /_sim/{route}"})

    def _subscribe(self, request: dict[str, Any]) -> Reply:
        count = int(request.get("count", 1))
        if not 1 <= count <= MAX_SUBSCRIPTIONS_PER_CALL:
            raise ValueError(f"count must be within 1..{MAX_SUBSCRIPTIONS_PER_CALL}")
        key = request.get("application_server_key")
        book = self._service.subscriptions
        return _json(200, [book.create(key) for _ in range(count)])


def _json(status: int, data: Any) -> Reply:
    return Reply(status, _JSON, orjson.dumps(data))
