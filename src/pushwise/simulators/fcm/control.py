"""The runtime control API under `/_sim/` on the FCM simulator's own port.

The shared routes of `pushwise.simulators.control` (faults, outage, reset), plus:

    GET  /_sim/health                 -> {"ok": true, "engine": "granian"}
    GET  /_sim/stats                  -> counters by status and error code, totals, OAuth counters
    GET  /_sim/tokens                 -> {token: {"received": n, "delivered": n}}
    GET  /_sim/tokens/{token}         -> recent requests for the token (headers + message)
    POST /_sim/expire-access-tokens   -> every issued access token is now expired (401 on next use)

While the outage is on, every send answers 503 UNAVAILABLE.
"""

from __future__ import annotations

from typing import Any

from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.control import CONTROL_PREFIX, ControlRoutes, json_reply
from pushwise.simulators.fcm.faults import parse_fcm_faults
from pushwise.simulators.fcm.service import SimulatedFcm

__all__ = ["CONTROL_PREFIX", "FcmControlApi"]


class FcmControlApi(ControlRoutes):
    def __init__(self, fcm: SimulatedFcm, *, engine: str) -> None:
        super().__init__(fcm)
        self._fcm = fcm
        self._engine = engine

    def _provider_route(self, method: str, route: str, body: bytes) -> Reply | None:
        fcm = self._fcm
        if method == "GET":
            if route == "health":
                return json_reply(200, {"ok": True, "engine": self._engine})
            if route == "stats":
                return json_reply(200, self._stats())
            if route == "tokens":
                return json_reply(200, fcm.recorder.token_counts())
            if route.startswith("tokens/"):
                return json_reply(200, fcm.recorder.requests_for(route[len("tokens/") :]))
        if method == "POST" and route == "expire-access-tokens":
            fcm.issuer.expire_all()
            return json_reply(200, {"ok": True})
        return None

    def _replace_faults(self, raw: dict[str, Any]) -> Reply:
        self._fcm.set_faults(parse_fcm_faults(raw))
        return json_reply(200, self._fcm.faults.to_dict())

    def _stats(self) -> dict[str, Any]:
        fcm = self._fcm
        oauth = {"issued": fcm.issuer.issued, "refused_grants": fcm.issuer.refused_grants}
        return {**fcm.recorder.stats(), "engine": self._engine, "outage": fcm.faults.outage, "oauth": oauth}
