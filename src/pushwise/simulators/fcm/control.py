"""The runtime control API under `/_sim/` on the FCM simulator's own port.

Same routes as the APNs simulator's, plus one for the OAuth2 side:

    GET  /_sim/health                 -> {"ok": true, "engine": "granian"}
    GET  /_sim/stats                  -> counters by status and error code, totals, OAuth counters
    GET  /_sim/tokens                 -> {token: {"received": n, "delivered": n}}
    GET  /_sim/tokens/{token}         -> recent requests for the token (headers + message)
    POST /_sim/reset                  -> forget what was received, zero counters, restart the random sequence
    GET  /_sim/faults                 -> current fault configuration
    PUT  /_sim/faults   {faults}      -> replace it (the outage switch is kept unless given)
    PUT  /_sim/outage   {"on": bool}  -> every send answers 503 UNAVAILABLE while on
    POST /_sim/expire-access-tokens   -> every issued access token is now expired (401 on next use)
"""

from __future__ import annotations

from typing import Any

import orjson

from pushwise.simulators.apns.faults import FaultConfigError
from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.fcm.faults import parse_fcm_faults
from pushwise.simulators.fcm.service import SimulatedFcm

CONTROL_PREFIX = "/_sim/"
_JSON = [("content-type", "application/json")]


class FcmControlApi:
    def __init__(self, fcm: SimulatedFcm, *, engine: str) -> None:
        self._fcm = fcm
        self._engine = engine

    def answer(self, method: str, path: str, body: bytes) -> Reply:
        route = path[len(CONTROL_PREFIX) :].rstrip("/")
        try:
            return self._route(method, route, body)
        except (FaultConfigError, ValueError, TypeError, KeyError) as exc:
            return _json(400, {"error": str(exc)})

    def _route(self, method: str, route: str, body: bytes) -> Reply:
        fcm = self._fcm
        if method == "GET":
            if route == "health":
                return _json(200, {"ok": True, "engine": self._engine})
            if route == "stats":
                return _json(200, self._stats())
            if route == "tokens":
                return _json(200, fcm.recorder.token_counts())
            if route.startswith("tokens/"):
                return _json(200, fcm.recorder.requests_for(route[len("tokens/") :]))
            if route == "faults":
                return _json(200, fcm.faults.to_dict())
        if method == "POST" and route == "reset":
            fcm.reset()
            return _json(200, {"ok": True})
        if method == "POST" and route == "expire-access-tokens":
            fcm.issuer.expire_all()
            return _json(200, {"ok": True})
        if method == "PUT" and route == "faults":
            raw = orjson.loads(body or b"{}")
            raw.setdefault("outage", fcm.faults.outage)
            fcm.set_faults(parse_fcm_faults(raw))
            return _json(200, fcm.faults.to_dict())
        if method == "PUT" and route == "outage":
            fcm.set_outage(bool(orjson.loads(body)["on"]))
            return _json(200, {"outage": fcm.faults.outage})
        return _json(404, {"error": f"no control route {method} /_sim/{route}"})

    def _stats(self) -> dict[str, Any]:
        fcm = self._fcm
        oauth = {"issued": fcm.issuer.issued, "refused_grants": fcm.issuer.refused_grants}
        return {**fcm.recorder.stats(), "engine": self._engine, "outage": fcm.faults.outage, "oauth": oauth}


def _json(status: int, data: Any) -> Reply:
    return Reply(status, _JSON, orjson.dumps(data))
