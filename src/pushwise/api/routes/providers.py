"""`/v1/apps/{app_id}/providers/apns`: store, show and remove an app's APNs credentials."""

from __future__ import annotations

from fastapi import APIRouter

from pushwise.api.deps import ManagedApp, ServicesDep, StoresDep
from pushwise.api.errors import not_found
from pushwise.api.provider_checks import check_apns
from pushwise.api.schemas.common import at, when
from pushwise.api.schemas.providers import ApnsIn, ApnsOut
from pushwise.store.credentials import CredentialSummary

router = APIRouter(prefix="/v1/apps/{app_id}/providers", tags=["providers"])


def _apns_out(summary: CredentialSummary) -> ApnsOut:
    public = summary.public
    return ApnsOut(
        auth=public["auth"],
        topic=public["topic"],
        environment=public["environment"],
        team_id=public.get("team_id"),
        key_id=public.get("key_id"),
        endpoint=public.get("endpoint"),
        ca_file=public.get("ca_file"),
        certificate_subject=public.get("certificate_subject"),
        certificate_expires_at=when(public.get("certificate_expires_at")),
        updated_at=at(summary.updated_at),
    )


@router.put("/apns")
async def put_apns(body: ApnsIn, app: ManagedApp, services: ServicesDep, stores: StoresDep) -> ApnsOut:
    public, secret = await check_apns(
        body, allow_private=services.settings.allow_private_endpoints, clock=services.clock
    )
    return _apns_out(await stores.credentials.put(app.id, "apns", public, secret))


@router.get("/apns")
async def get_apns(app: ManagedApp, stores: StoresDep) -> ApnsOut:
    summary = await stores.credentials.describe(app.id, "apns")
    if summary is None:
        raise not_found("APNs configuration")
    return _apns_out(summary)


@router.delete("/apns")
async def delete_apns(app: ManagedApp, stores: StoresDep) -> ApnsOut:
    summary = await stores.credentials.delete(app.id, "apns")
    if summary is None:
        raise not_found("APNs configuration")
    return _apns_out(summary)
