"""The control routes every HTTP simulator answers under `/_sim/` on its own port.

    GET  /_sim/faults                 -> current fault configuration
    PUT  /_sim/faults   {faults}      -> replace it (the outage switch is kept unless given)
    PUT  /_sim/outage   {"on": bool}  -> every request answers 503 while on
    POST /_sim/reset                  -> forget what was received, restart the random sequence

A provider's control API adds its own routes (health, stats, what a token received)
in `_provider_route`; anything neither knows answers 404.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from pushwise.simulators.apns.peer import Reply
from pushwise.simulators.faults import FaultConfigError

CONTROL_PREFIX = "/_sim/"
_JSON = [("content-type", "application/json")]


class FaultView(Protocol):
    @property
    def outage(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


class ControlledService(Protocol):
    """What the shared routes need from a simulated service."""

    @property
    def faults(self) -> FaultView: ...

    def set_outage(self, on: bool) -> None: ...

    def reset(self) -> None: ...


class ControlRoutes:
    """Routing, error replies and the shared routes; subclasses add provider routes and fault parsing."""

    def __init__(self, service: ControlledService) -> None:
        self._controlled = service

    def answer(self, method: str, path: str, body: bytes) -> Reply:
        route = path[len(CONTROL_PREFIX) :].rstrip("/")
        try:
            reply = self._provider_route(method, route, body)
            return reply if reply is not None else self._shared_route(method, route, body)
        except (FaultConfigError, ValueError, TypeError, KeyError) as exc:
            return json_reply(400, {"error": str(exc)})

    def _provider_route(self, method: str, route: str, body: bytes) -> Reply | None:
        """The provider's own routes; None when `route` is not one of them."""
        raise NotImplementedError

    def _replace_faults(self, raw: dict[str, Any]) -> Reply:
        """Parse `raw` with the provider's rules and install it (the outage switch is already filled in)."""
        raise NotImplementedError

    def _shared_route(self, method: str, route: str, body: bytes) -> Reply:
        service = self._controlled
        if method == "GET" and route == "faults":
            return json_reply(200, service.faults.to_dict())
        if method == "POST" and route == "reset":
            service.reset()
            return json_reply(200, {"ok": True})
        if method == "PUT" and route == "faults":
            raw = orjson.loads(body or b"{}")
            raw.setdefault("outage", service.faults.outage)
            return self._replace_faults(raw)
        if method == "PUT" and route == "outage":
            service.set_outage(bool(orjson.loads(body)["on"]))
            return json_reply(200, {"outage": service.faults.outage})
        return json_reply(404, {"error": f"no control route {method} /_sim/{route}"})


def json_reply(status: int, data: Any) -> Reply:
    return Reply(status, _JSON, orjson.dumps(data))
