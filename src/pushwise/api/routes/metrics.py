"""`/metrics`: Prometheus text format, cluster-wide (see `pushwise.monitoring.exposition`)."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from pushwise.api.deps import ServicesDep
from pushwise.monitoring.exposition import ClusterSnapshot, CredentialGauge, render

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    monitoring, now = services.monitoring, services.clock.now()
    snapshot = ClusterSnapshot(
        totals=await monitoring.rollups.totals(),
        queues=await monitoring.rollups.queue_gauges(now=now),
        circuits=services.engine.circuits.states(),
        credentials=[
            CredentialGauge(h.app_id, h.channel, h.status, h.expires_at)
            for h in await monitoring.alerts.health()
        ],
        firing_alerts=await monitoring.alerts.firing_counts(),
        now=now,
    )
    return Response(render(snapshot), media_type=CONTENT_TYPE_LATEST)
