"""An app's categories and its users' preferences (API.md, Audience), and the hosted page's link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from pushwise.api.audit import Audit
from pushwise.api.auth import Server
from pushwise.api.deps import ManagedApp, ServicesDep, StoresDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.routes.users import ExternalIdPath
from pushwise.api.schemas.common import at
from pushwise.api.schemas.preferences import (
    MAX_CATEGORIES,
    CategoryIn,
    CategoryOut,
    PreferenceLinkIn,
    PreferenceLinkOut,
    PreferencesIn,
    PreferencesOut,
)
from pushwise.domain.audience.preferences import PreferenceRefused
from pushwise.hosted.links import preference_page_url

router = APIRouter(tags=["preferences"])


@router.put("/v1/apps/{app_id}/categories")
async def put_categories(
    body: Annotated[list[CategoryIn], Body(max_length=MAX_CATEGORIES)],
    app: ManagedApp,
    stores: StoresDep,
    audit: Audit,
) -> list[CategoryOut]:
    """The app's categories become exactly these, in this order; users' choices are kept."""
    seen: set[str] = set()
    for index, item in enumerate(body):
        if item.key in seen:
            raise ApiError(
                422, "duplicate_category", f"category {item.key!r} is given twice", f"[{index}].key"
            )
        seen.add(item.key)
    wanted = [item.category() for item in body]
    await stores.categories.replace(app.id, wanted)
    await audit.record("categories.configure", app.id)
    return [CategoryOut.of(category) for category in wanted]


@router.get("/v1/apps/{app_id}/categories")
async def get_categories(app: ManagedApp, stores: StoresDep) -> list[CategoryOut]:
    return [CategoryOut.of(category) for category in await stores.categories.of_app(app.id)]


@router.get("/v1/users/{external_id}/preferences")
async def get_preferences(
    external_id: ExternalIdPath, principal: Server, stores: StoresDep
) -> PreferencesOut:
    found = await stores.preferences.of_user(principal.app_id_required, external_id)
    if found is None:
        raise not_found("user")
    return PreferencesOut.of(found.categories, found.preferences)


@router.patch("/v1/users/{external_id}/preferences")
async def patch_preferences(
    external_id: ExternalIdPath, body: PreferencesIn, principal: Server, stores: StoresDep
) -> PreferencesOut:
    app_id = principal.app_id_required
    user = await stores.preferences.of_user(app_id, external_id)
    if user is None:
        raise not_found("user")
    try:
        changed = await stores.preferences.change(app_id, user.user_id, body.change())
    except PreferenceRefused as error:
        raise ApiError(422, "unknown_preference", str(error), error.field) from error
    if changed is None:  # erased in between
        raise not_found("user")
    return PreferencesOut.of(changed.categories, changed.preferences)


@router.post("/v1/users/{external_id}/preferences/link")
async def preference_link(
    external_id: ExternalIdPath,
    principal: Server,
    stores: StoresDep,
    services: ServicesDep,
    body: PreferenceLinkIn | None = None,
) -> PreferenceLinkOut:
    """A signed link to the user's hosted preference page, for an e-mail, a message or the app."""
    app_id = principal.app_id_required
    user = await stores.preferences.of_user(app_id, external_id)
    if user is None:
        raise not_found("user")
    expires_at = int(services.clock.now()) + (body or PreferenceLinkIn()).ttl_seconds
    url = preference_page_url(
        services.secret_key, services.settings.public_base_url, app_id, user.user_id, expires_at
    )
    return PreferenceLinkOut(url=url, expires_at=at(expires_at))
