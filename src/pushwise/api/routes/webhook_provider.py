"""`/v1/apps/{app_id}/providers/webhook`: where the webhook channel POSTs, and its signing secret."""

from __future__ import annotations

from fastapi import APIRouter

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep, StoresDep
from pushwise.api.errors import ApiError
from pushwise.api.schemas.channel_providers import WebhookProviderIn, WebhookProviderOut
from pushwise.api.schemas.common import at
from pushwise.api.stored_credentials import deleted, described
from pushwise.domain.endpoints import EndpointRefused
from pushwise.net.endpoint_guard import check_public_endpoint
from pushwise.store.credentials import CredentialSummary

router = APIRouter(prefix="/v1/apps/{app_id}/providers", tags=["providers"])


def _out(summary: CredentialSummary) -> WebhookProviderOut:
    return WebhookProviderOut(url=summary.public["url"], updated_at=at(summary.updated_at))


@router.put("/webhook")
async def put_webhook(
    body: WebhookProviderIn, app: ManagedApp, services: ServicesDep, stores: StoresDep, audit: Audit
) -> WebhookProviderOut:
    """The URL is checked now (https, public); the sender checks the connected address again."""
    try:
        await check_public_endpoint(body.url, allow_private=services.settings.allow_private_endpoints)
    except EndpointRefused as error:
        raise ApiError(422, error.code, error.message, "url") from error
    summary = await stores.credentials.put(app.id, "webhook", {"url": body.url}, {"secret": body.secret})
    await audit.record("provider.configure", app.id, "webhook")
    return _out(summary)


@router.get("/webhook")
async def get_webhook(app: ManagedApp, stores: StoresDep) -> WebhookProviderOut:
    return _out(await described(stores.credentials, app.id, "webhook", "webhook configuration"))


@router.delete("/webhook")
async def delete_webhook(app: ManagedApp, stores: StoresDep, audit: Audit) -> WebhookProviderOut:
    summary = await deleted(stores.credentials, app.id, "webhook", "webhook configuration")
    await audit.record("provider.remove", app.id, "webhook")
    return _out(summary)
