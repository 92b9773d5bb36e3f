"""`/v1/apps/{app_id}/receipts`: set, show and remove an app's delivery-receipt receiver."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.schemas.common import at
from pushwise.api.schemas.receipts import ReceiptsIn, ReceiptsOut
from pushwise.bootstrap import Services
from pushwise.domain.endpoints import EndpointRefused
from pushwise.net.endpoint_guard import check_public_endpoint
from pushwise.store.receipts import ReceiptEndpoint, ReceiptEndpoints
from pushwise.store.sealing import Sealer

router = APIRouter(prefix="/v1/apps/{app_id}/receipts", tags=["receipts"])


async def _endpoints(services: ServicesDep) -> ReceiptEndpoints:
    return ReceiptEndpoints(services.db, services.clock, Sealer(services.secret_key))


Endpoints = Annotated[ReceiptEndpoints, Depends(_endpoints)]


def _out(endpoint: ReceiptEndpoint) -> ReceiptsOut:
    return ReceiptsOut(url=endpoint.url, events=list(endpoint.events), updated_at=at(endpoint.updated_at))


async def _check_url(url: str, services: Services) -> None:
    """Receivers follow the SSRF rule of every outbound destination (API.md, Operations)."""
    try:
        await check_public_endpoint(url, allow_private=services.settings.allow_private_endpoints)
    except EndpointRefused as error:
        raise ApiError(422, error.code, error.message, "url") from error


@router.put("")
async def put_receipts(
    body: ReceiptsIn, app: ManagedApp, services: ServicesDep, endpoints: Endpoints, audit: Audit
) -> ReceiptsOut:
    await _check_url(body.url, services)
    stored = await endpoints.put_endpoint(app.id, body.url, body.secret, body.events)
    await audit.record("receipts.configure", app.id)
    return _out(stored)


@router.get("")
async def get_receipts(app: ManagedApp, endpoints: Endpoints) -> ReceiptsOut:
    found = await endpoints.endpoint(app.id)
    if found is None:
        raise not_found("receipt receiver")
    return _out(found)


@router.delete("", status_code=204)
async def delete_receipts(app: ManagedApp, endpoints: Endpoints, audit: Audit) -> None:
    if not await endpoints.delete_endpoint(app.id):
        raise not_found("receipt receiver")
    await audit.record("receipts.remove", app.id)
