"""`/v1/users/{external_id}`: upsert, read with devices, erase (server key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, Stores, StoresDep
from pushwise.api.errors import not_found
from pushwise.api.schemas.preferences import PreferencesOut
from pushwise.api.schemas.users import UserIn, UserOut, UserProfileOut, UsersBatchIn, UsersBatchOut

router = APIRouter(prefix="/v1/users", tags=["users"])

ExternalIdPath = Annotated[str, Path(min_length=1, max_length=255, description="The app's own user id.")]


@router.post("/batch")
async def put_users(body: UsersBatchIn, principal: Server, stores: StoresDep) -> UsersBatchOut:
    """Create or update up to 1,000 users at once, all or nothing, as `PUT /v1/users/{external_id}` each."""
    upserted = await stores.users.upsert_many(principal.app_id_required, body.changes_by_user())
    return UsersBatchOut(upserted=upserted)


@router.put("/{external_id}", responses={201: {"description": "Created"}})
async def put_user(
    external_id: ExternalIdPath, body: UserIn, principal: Server, stores: StoresDep, response: Response
) -> UserOut:
    """Create or update; fields left out keep their value (200 on update, 201 on creation)."""
    user, created = await stores.users.upsert(principal.app_id_required, external_id, body.changes())
    if created:
        response.status_code = status.HTTP_201_CREATED
    return UserOut.of(user)


@router.get("/{external_id}")
async def get_user(
    external_id: ExternalIdPath, principal: Server, stores: StoresDep, services: ServicesDep
) -> UserProfileOut:
    profile = await user_profile(principal.app_id_required, external_id, stores, services.clock.now())
    if profile is None:
        raise not_found("user")
    return profile


async def user_profile(app_id: str, external_id: str, stores: Stores, now: float) -> UserProfileOut | None:
    """The profile as `GET /v1/users/{external_id}` shows it (also part of the user's data export)."""
    user = await stores.users.get(app_id, external_id)
    if user is None:
        return None
    devices = await stores.devices.list_for_user(app_id, user.id)
    profile = UserProfileOut.profile(user, devices, await stores.profiles.learned(user.id, now))
    chosen = await stores.preferences.of_user_id(app_id, user.id)
    if chosen is not None:
        profile.preferences = PreferencesOut.of(chosen.categories, chosen.preferences).model_dump()
    return profile


@router.delete("/{external_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(external_id: ExternalIdPath, principal: Server, stores: StoresDep) -> None:
    """Erase the user and their devices."""
    if not await stores.users.delete(principal.app_id_required, external_id):
        raise not_found("user")
