"""`/v1/apps/{app_id}/providers/{huawei,honor,xiaomi,oppo,vivo}`: an app's phone-maker credentials.

One route per vendor (each has its own body), made by one function. The answer gives
`receipt_url`, where that vendor posts delivery receipts for this app.
"""

# No `from __future__ import annotations`: FastAPI reads each route's body model from the
# annotation, which here is a different class per vendor, known only when the route is made.

from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep, StoresDep
from pushwise.api.schemas.common import at
from pushwise.api.schemas.vendors import VENDOR_BODIES, VendorIn, VendorOut
from pushwise.api.stored_credentials import deleted, described
from pushwise.api.vendor_checks import check_vendor
from pushwise.bootstrap import Services
from pushwise.domain.china.receipts import receipt_token
from pushwise.store.credentials import CredentialSummary

router = APIRouter(prefix="/v1/apps/{app_id}/providers", tags=["providers"])


def receipt_url(services: Services, vendor: str, app_id: str) -> str:
    base = services.settings.public_base_url.rstrip("/")
    token = receipt_token(services.secret_key, vendor, app_id)
    return f"{base}/v1/vendor-receipts/{vendor}/{app_id}?token={token}"


def _out(vendor: str, summary: CredentialSummary, services: Services, app_id: str) -> VendorOut:
    public = dict(summary.public)
    check = public.pop("credential_check", "not_available")
    public.pop("receipt_url", None)
    return VendorOut(
        channel=vendor,
        settings=public,
        receipt_url=receipt_url(services, vendor, app_id),
        credential_check=check,
        updated_at=at(summary.updated_at),
    )


def _put(vendor: str, model: type[VendorIn]) -> Callable[..., Awaitable[VendorOut]]:
    async def put_vendor(
        body: model,  # type: ignore[valid-type]
        app: ManagedApp,
        services: ServicesDep,
        stores: StoresDep,
        audit: Audit,
    ) -> VendorOut:
        public, secret, check = await check_vendor(
            vendor,
            body,
            allow_private=services.settings.allow_private_endpoints,
            clock=services.clock,
            receipt_url=receipt_url(services, vendor, app.id),
        )
        summary = await stores.credentials.put(app.id, vendor, {**public, "credential_check": check}, secret)
        await audit.record("provider.configure", app.id, vendor)
        return _out(vendor, summary, services, app.id)

    put_vendor.__doc__ = f"Store the app's {vendor} push credentials (checked against {vendor}'s auth first)."
    return put_vendor


def _get(vendor: str) -> Callable[..., Awaitable[VendorOut]]:
    async def get_vendor(app: ManagedApp, services: ServicesDep, stores: StoresDep) -> VendorOut:
        summary = await described(stores.credentials, app.id, vendor, f"{vendor} configuration")
        return _out(vendor, summary, services, app.id)

    return get_vendor


def _delete(vendor: str) -> Callable[..., Awaitable[VendorOut]]:
    async def delete_vendor(
        app: ManagedApp, services: ServicesDep, stores: StoresDep, audit: Audit
    ) -> VendorOut:
        summary = await deleted(stores.credentials, app.id, vendor, f"{vendor} configuration")
        await audit.record("provider.remove", app.id, vendor)
        return _out(vendor, summary, services, app.id)

    return delete_vendor


for _vendor, _model in VENDOR_BODIES.items():
    router.put(f"/{_vendor}", name=f"put_{_vendor}")(_put(_vendor, _model))
    router.get(f"/{_vendor}", name=f"get_{_vendor}")(_get(_vendor))
    router.delete(f"/{_vendor}", name=f"delete_{_vendor}")(_delete(_vendor))
