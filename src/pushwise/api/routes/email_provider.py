"""`/v1/apps/{app_id}/providers/email`: the app's SMTP server (the password is sealed at rest)."""

from __future__ import annotations

from fastapi import APIRouter

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep, StoresDep
from pushwise.api.errors import ApiError
from pushwise.api.schemas.channel_providers import EmailProviderIn, EmailProviderOut
from pushwise.api.schemas.common import at
from pushwise.api.stored_credentials import deleted, described
from pushwise.domain.endpoints import EndpointRefused
from pushwise.net.endpoint_guard import public_addresses
from pushwise.store.credentials import CredentialSummary

router = APIRouter(prefix="/v1/apps/{app_id}/providers", tags=["providers"])


async def _check_public_host(host: str, port: int) -> None:
    """SMTP servers follow the SSRF rule of provider overrides: public addresses only."""
    try:
        await public_addresses(host, port)
    except EndpointRefused as error:
        raise ApiError(422, "private_endpoint_refused", f"{host} is not a public host", "host") from error
    except OSError as error:
        raise ApiError(422, "endpoint_unresolvable", f"cannot resolve {host}", "host") from error


def _out(summary: CredentialSummary) -> EmailProviderOut:
    public = summary.public
    return EmailProviderOut(
        host=public["host"],
        port=public["port"],
        username=public.get("username"),
        sender=public["sender"],
        starttls=public["starttls"],
        ca_file=public.get("ca_file"),
        has_password=public.get("has_password", False),
        updated_at=at(summary.updated_at),
    )


@router.put("/email")
async def put_email(
    body: EmailProviderIn, app: ManagedApp, services: ServicesDep, stores: StoresDep, audit: Audit
) -> EmailProviderOut:
    if not services.settings.allow_private_endpoints:
        await _check_public_host(body.host, body.port)
    if body.username and not body.password:
        raise ApiError(422, "password_required", "a username needs a password", "password")
    public = body.model_dump(exclude={"password"}) | {"has_password": body.password is not None}
    summary = await stores.credentials.put(app.id, "email", public, {"password": body.password})
    await audit.record("provider.configure", app.id, "email")
    return _out(summary)


@router.get("/email")
async def get_email(app: ManagedApp, stores: StoresDep) -> EmailProviderOut:
    return _out(await described(stores.credentials, app.id, "email", "e-mail configuration"))


@router.delete("/email")
async def delete_email(app: ManagedApp, stores: StoresDep, audit: Audit) -> EmailProviderOut:
    summary = await deleted(stores.credentials, app.id, "email", "e-mail configuration")
    await audit.record("provider.remove", app.id, "email")
    return _out(summary)
