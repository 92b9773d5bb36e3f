"""`/metrics`: Prometheus text format, cluster-wide (see `pushwise.monitoring.exposition`).

The figures name every tenant's apps, so `metrics_token` can close the endpoint:
then a scraper sends `Authorization: Bearer <token>` (or the admin key). Unset, it
stays open as Prometheus expects, and `warn_if_open` says so once at start-up
when the server listens beyond loopback.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from pushwise.api.auth import BEARER_CHALLENGE, authenticator_of
from pushwise.api.deps import ServicesDep
from pushwise.api.errors import ApiError
from pushwise.monitoring.exposition import ClusterSnapshot, CredentialGauge, render

router = APIRouter(tags=["health"])
log = logging.getLogger("pushwise.api")
_bearer = HTTPBearer(auto_error=False, description="`metrics_token` or the admin key, when a token is set")


async def require_scraper(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    token = services.settings.metrics_token
    if not token:
        return
    if credentials is not None:
        offered = credentials.credentials
        if hmac.compare_digest(offered.encode(), token.encode()):
            return
        principal = await authenticator_of(request).authenticate(offered)
        if principal is not None and principal.kind == "admin":
            return
    raise ApiError(
        401,
        "unauthorized",
        "send the metrics token: Authorization: Bearer <token>",
        headers=BEARER_CHALLENGE,
    )


def warn_if_open(host: str, metrics_token: str | None) -> None:
    """Called once when the server starts listening."""
    if metrics_token or _is_loopback(host):
        return
    log.warning(
        "/metrics is open to anyone who can reach %s and names every app: "
        "set PUSHWISE_METRICS_TOKEN to require a bearer token",
        host,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Open unless `metrics_token` is set: the document says the bearer is optional.
@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(require_scraper)],
    openapi_extra={"security": [{}, {"HTTPBearer": []}]},
)
async def metrics(services: ServicesDep) -> Response:
    monitoring, now = services.monitoring, services.clock.now()
    snapshot = ClusterSnapshot(
        totals=await monitoring.rollups.totals(),
        queues=await monitoring.rollups.queue_gauges(now=now),
        circuits=await monitoring.endpoints.states(),
        connections=await monitoring.endpoints.connections(),
        credentials=[
            CredentialGauge(h.app_id, h.channel, h.status, h.expires_at)
            for h in await monitoring.alerts.health()
        ],
        firing_alerts=await monitoring.alerts.firing_counts(),
        now=now,
    )
    return Response(render(snapshot), media_type=CONTENT_TYPE_LATEST)
