"""The runtime control API under `/_sim/` on the simulator's own port.

Tests drive it with httpx: read counters and per-token counts, read what a
token received, and the shared routes of `pushwise.simulators.control`
(reset, replace the fault configuration, switch an outage).

    GET  /_sim/health                 -> {"ok": true, "engine": ...}
    GET  /_sim/stats                  -> counters by status and reason, totals
    GET  /_sim/tokens                 -> {token: {"received": n, "delivered": n}}
    GET  /_sim/tokens/{token}         -> recent requests for the token (headers + payload)
    PUT  /_sim/outage   {"on": bool}  -> every request answers 503 ServiceUnavailable while on
"""

from __future__ import annotations

from typing import Any

from pushwise.simulators.apns.faults import parse_faults
from pushwise.simulators.apns.peer import Reply, SimulatedApns
from pushwise.simulators.control import CONTROL_PREFIX, ControlRoutes, json_reply

__all__ = ["CONTROL_PREFIX", "ControlApi"]


class ControlApi(ControlRoutes):
    def __init__(self, apns: SimulatedApns, *, engine: str, connection_faults: bool) -> None:
        super().__init__(apns)
        self._apns = apns
        self._engine = engine
        self._connection_faults = connection_faults

    def _provider_route(self, method: str, route: str, body: bytes) -> Reply | None:
        apns = self._apns
        if method != "GET":
            return None
        if route == "health":
            return json_reply(200, {"ok": True, "engine": self._engine})
        if route == "stats":
            stats = apns.recorder.stats()
            return json_reply(200, {**stats, "engine": self._engine, "outage": apns.faults.outage})
        if route == "tokens":
            return json_reply(200, apns.recorder.token_counts())
        if route.startswith("tokens/"):
            return json_reply(200, apns.recorder.requests_for(route[len("tokens/") :]))
        return None

    def _replace_faults(self, raw: dict[str, Any]) -> Reply:
        faults = parse_faults(raw)
        if faults.needs_connection_control and not self._connection_faults:
            return json_reply(
                409,
                {
                    "error": f"the {self._engine} engine cannot drop connections or send GOAWAY; "
                    "start the simulator with engine='h2'"
                },
            )
        self._apns.set_faults(faults)
        return json_reply(200, faults.to_dict())
