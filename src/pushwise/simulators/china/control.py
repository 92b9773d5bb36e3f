"""The control API under `/_sim/` of a vendor simulator.

The shared routes of `pushwise.simulators.control` (faults, outage, reset), plus:

    GET  /_sim/health          -> {"ok": true, "vendor": ...}
    GET  /_sim/stats           -> counters by per-token status and code, auth and class counters,
                                  `dropped_by_quota` (pushes past the cap a vendor dropped silently)
    GET  /_sim/tokens          -> {token: {"received": n, "delivered": n}}
    GET  /_sim/tokens/{token}  -> recent requests that named the token
    POST /_sim/expire-tokens   -> every token issued so far is refused from now on

Per-token statuses: 200 delivered, 410 dead token, 429 over the daily marketing cap,
other 4xx/5xx refused with the whole request.
"""

from __future__ import annotations

from typing import Any

from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.china.faults import parse_vendor_faults
from pushwise.simulators.china.service import SimulatedVendor
from pushwise.simulators.control import ControlRoutes, json_reply


class VendorControlApi(ControlRoutes):
    def __init__(self, service: SimulatedVendor) -> None:
        super().__init__(service)
        self._service = service

    def _provider_route(self, method: str, route: str, body: bytes) -> Reply | None:
        service = self._service
        if method == "GET":
            if route == "health":
                return json_reply(200, {"ok": True, "vendor": service.vendor})
            if route == "stats":
                return json_reply(200, service.stats())
            if route == "tokens":
                return json_reply(200, service.recorder.token_counts())
            if route.startswith("tokens/"):
                return json_reply(200, service.recorder.requests_for(route[len("tokens/") :]))
        if method == "POST" and route == "expire-tokens":
            service.expire_tokens()
            return json_reply(200, {"ok": True})
        return None

    def _replace_faults(self, raw: dict[str, Any]) -> Reply:
        self._service.set_faults(parse_vendor_faults(self._service.vendor, raw))
        return json_reply(200, self._service.faults.to_dict())
