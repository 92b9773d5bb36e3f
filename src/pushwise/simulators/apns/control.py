"""The runtime control API under `/_sim/` on the simulator's own port.

Tests drive it with httpx: read counters and per-token counts, read what a
token received, reset, replace the fault configuration, switch an outage.

    GET  /_sim/health                 -> {"ok": true, "engine": ...}
    GET  /_sim/stats                  -> counters by status and reason, totals
    GET  /_sim/tokens                 -> {token: {"received": n, "delivered": n}}
    GET  /_sim/tokens/{token}         -> recent requests for the token (headers + payload)
    POST /_sim/reset                  -> forget everything received, restart the random sequence
    GET  /_sim/faults                 -> current fault configuration
    PUT  /_sim/faults   {faults}      -> replace it (the outage switch is kept unless given)
    PUT  /_sim/outage   {"on": bool}  -> every request answers 503 ServiceUnavailable while on
"""

from __future__ import annotations

from typing import Any

import orjson

from pushwise.simulators.apns.faults import FaultConfigError, parse_faults
from pushwise.simulators.apns.peer import Reply, SimulatedApns

CONTROL_PREFIX = "/_sim/"
_JSON = [("content-type", "application/json")]


class ControlApi:
    def __init__(self, apns: SimulatedApns, *, engine: str, connection_faults: bool) -> None:
        self._apns = apns
        self._engine = engine
        self._connection_faults = connection_faults

    def answer(self, method: str, path: str, body: bytes) -> Reply:
        route = path[len(CONTROL_PREFIX) :].rstrip("/")
        try:
            return self._route(method, route, body)
        except (FaultConfigError, ValueError, TypeError, KeyError) as exc:
            return _json(400, {"error": str(exc)})

    def _route(self, method: str, route: str, body: bytes) -> Reply:
        apns = self._apns
        if method == "GET":
            if route == "health":
                return _json(200, {"ok": True, "engine": self._engine})
            if route == "stats":
                stats = apns.recorder.stats()
                return _json(200, {**stats, "engine": self._engine, "outage": apns.faults.outage})
            if route == "tokens":
                return _json(200, apns.recorder.token_counts())
            if route.startswith("tokens/"):
                return _json(200, apns.recorder.requests_for(route[len("tokens/") :]))
            if route == "faults":
                return _json(200, apns.faults.to_dict())
        if method == "POST" and route == "reset":
            apns.reset()
            return _json(200, {"ok": True})
        if method == "PUT" and route == "faults":
            return self._replace_faults(orjson.loads(body or b"{}"))
        if method == "PUT" and route == "outage":
            apns.set_outage(bool(orjson.loads(body)["on"]))
            return _json(200, {"outage": apns.faults.outage})
        return _json(404, {"error": f"no control route {method} /_sim/{route}"})

    def _replace_faults(self, raw: dict[str, Any]) -> Reply:
        raw.setdefault("outage", self._apns.faults.outage)
        faults = parse_faults(raw)
        if faults.needs_connection_control and not self._connection_faults:
            return _json(
                409,
                {
                    "error": f"the {self._engine} engine cannot drop connections or send GOAWAY; "
                    "start the simulator with engine='h2'"
                },
            )
        self._apns.set_faults(faults)
        return _json(200, faults.to_dict())


def _json(status: int, data: Any) -> Reply:
    return Reply(status, _JSON, orjson.dumps(data))
