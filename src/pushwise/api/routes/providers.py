"""`/v1/apps/{app_id}/providers/{apns,fcm,webpush}`: store, show and remove an app's credentials."""

from __future__ import annotations

from fastapi import APIRouter

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep, StoresDep
from pushwise.api.provider_checks import check_apns, check_fcm, check_webpush
from pushwise.api.schemas.common import at, when
from pushwise.api.schemas.providers import ApnsIn, ApnsOut, FcmIn, FcmOut, WebPushIn, WebPushOut
from pushwise.api.stored_credentials import deleted, described
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


def _fcm_out(summary: CredentialSummary) -> FcmOut:
    public = summary.public
    return FcmOut(
        project_id=public["project_id"],
        client_email=public["client_email"],
        endpoint=public.get("endpoint"),
        token_uri=public.get("token_uri"),
        ca_file=public.get("ca_file"),
        updated_at=at(summary.updated_at),
    )


def _webpush_out(summary: CredentialSummary) -> WebPushOut:
    public = summary.public
    return WebPushOut(
        subject=public["subject"],
        vapid_public_key=public["vapid_public_key"],
        ca_file=public.get("ca_file"),
        updated_at=at(summary.updated_at),
    )


@router.put("/apns")
async def put_apns(
    body: ApnsIn, app: ManagedApp, services: ServicesDep, stores: StoresDep, audit: Audit
) -> ApnsOut:
    public, secret = await check_apns(
        body, allow_private=services.settings.allow_private_endpoints, clock=services.clock
    )
    summary = await stores.credentials.put(app.id, "apns", public, secret)
    await audit.record("provider.configure", app.id, "apns")
    return _apns_out(summary)


@router.get("/apns")
async def get_apns(app: ManagedApp, stores: StoresDep) -> ApnsOut:
    return _apns_out(await described(stores.credentials, app.id, "apns", "APNs configuration"))


@router.delete("/apns")
async def delete_apns(app: ManagedApp, stores: StoresDep, audit: Audit) -> ApnsOut:
    summary = await deleted(stores.credentials, app.id, "apns", "APNs configuration")
    await audit.record("provider.remove", app.id, "apns")
    return _apns_out(summary)


@router.put("/fcm")
async def put_fcm(
    body: FcmIn, app: ManagedApp, services: ServicesDep, stores: StoresDep, audit: Audit
) -> FcmOut:
    public, secret = await check_fcm(body, allow_private=services.settings.allow_private_endpoints)
    summary = await stores.credentials.put(app.id, "fcm", public, secret)
    await audit.record("provider.configure", app.id, "fcm")
    return _fcm_out(summary)


@router.get("/fcm")
async def get_fcm(app: ManagedApp, stores: StoresDep) -> FcmOut:
    return _fcm_out(await described(stores.credentials, app.id, "fcm", "FCM configuration"))


@router.delete("/fcm")
async def delete_fcm(app: ManagedApp, stores: StoresDep, audit: Audit) -> FcmOut:
    summary = await deleted(stores.credentials, app.id, "fcm", "FCM configuration")
    await audit.record("provider.remove", app.id, "fcm")
    return _fcm_out(summary)


@router.put("/webpush")
async def put_webpush(body: WebPushIn, app: ManagedApp, stores: StoresDep, audit: Audit) -> WebPushOut:
    public, secret = await check_webpush(body)
    summary = await stores.credentials.put(app.id, "webpush", public, secret)
    await audit.record("provider.configure", app.id, "webpush")
    return _webpush_out(summary)


@router.get("/webpush")
async def get_webpush(app: ManagedApp, stores: StoresDep) -> WebPushOut:
    return _webpush_out(await described(stores.credentials, app.id, "webpush", "Web Push configuration"))


@router.delete("/webpush")
async def delete_webpush(app: ManagedApp, stores: StoresDep, audit: Audit) -> WebPushOut:
    summary = await deleted(stores.credentials, app.id, "webpush", "Web Push configuration")
    await audit.record("provider.remove", app.id, "webpush")
    return _webpush_out(summary)
