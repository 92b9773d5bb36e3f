"""`Audit`: what a route that changes an app's set-up takes to write the audit log.

A handler records once its change has succeeded (`await audit.record("provider.configure",
app.id, "apns")`); the actor is the key that authenticated the request (its id, or `admin` for
the key from the settings) and the address is the client's as the HTTP server saw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pushwise.api.auth import Principal, current_principal
from pushwise.api.deps import StoresDep
from pushwise.api.rate_limits import client_address
from pushwise.store.audit import SETTINGS_ADMIN, AuditLog


@dataclass(frozen=True, slots=True)
class AuditTrail:
    log: AuditLog
    actor: str
    ip: str

    async def record(self, action: str, app_id: str | None, target: str | None = None) -> None:
        await self.log.record(self.actor, action, app_id=app_id, target=target, ip=self.ip)


async def audit_trail(
    request: Request, principal: Annotated[Principal, Depends(current_principal)], stores: StoresDep
) -> AuditTrail:
    return AuditTrail(stores.audit, principal.key_id or SETTINGS_ADMIN, client_address(request.scope))


Audit = Annotated[AuditTrail, Depends(audit_trail)]
