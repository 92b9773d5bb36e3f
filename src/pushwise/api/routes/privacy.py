"""`/v1/users/{external_id}/data`: everything stored about a user, exported or erased (server key)."""

from __future__ import annotations

from fastapi import APIRouter

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import not_found
from pushwise.api.routes.users import ExternalIdPath, user_profile
from pushwise.api.schemas.common import at
from pushwise.api.schemas.privacy import ErasedOut, UserDataOut

router = APIRouter(prefix="/v1/users", tags=["privacy"])


@router.get("/{external_id}/data")
async def export_user_data(
    external_id: ExternalIdPath, principal: Server, stores: StoresDep, services: ServicesDep
) -> UserDataOut:
    """The user's data as JSON: profile, devices, preferences, events, deliveries, inbox, and every
    stored row keyed to them."""
    app_id, now = principal.app_id_required, services.clock.now()
    tables = await stores.privacy.export(app_id, external_id)
    profile = await user_profile(app_id, external_id, stores, now)
    if tables is None or profile is None:
        raise not_found("user")
    return UserDataOut.of(external_id, now, profile, tables)


@router.delete("/{external_id}/data")
async def erase_user_data(
    external_id: ExternalIdPath, principal: Server, stores: StoresDep, services: ServicesDep
) -> ErasedOut:
    """Erase the user: their rows are deleted; deliveries, notifications addressed to them and
    receipts not yet posted are kept without their ids. Others' data is untouched."""
    erased = await stores.privacy.erase(principal.app_id_required, external_id)
    if erased is None:
        raise not_found("user")
    return ErasedOut(
        external_id=external_id,
        erased_at=at(services.clock.now()),
        deleted=erased.deleted,
        anonymised=erased.anonymised,
    )
