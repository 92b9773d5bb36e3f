"""`/v1/catalog/items` (upsert in batches, read, delete) and `/v1/users/{external_id}/picks`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import not_found
from pushwise.api.schemas.catalog import ItemOut, ItemsIn, ItemsOut, PickOut, PicksOut
from pushwise.api.schemas.common import at

router = APIRouter(tags=["catalog"])

ItemPath = Annotated[str, Path(min_length=1, max_length=128)]


@router.put("/v1/catalog/items")
async def put_items(body: ItemsIn, principal: Server, services: ServicesDep) -> ItemsOut:
    """Create or replace up to 1,000 items in one transaction (all of them or none)."""
    items: list[dict[str, Any]] = []
    for item in body.items:
        raw = item.model_dump(exclude_none=True)
        if item.launched_at is not None:
            raw["launched_at"] = item.launched_at.timestamp()
        items.append(raw)
    count = await services.engine.catalog.put(principal.app_id_required, items, services.clock.now())
    return ItemsOut(upserted=count)


@router.get("/v1/catalog/items/{item_id}")
async def get_item(item_id: ItemPath, principal: Server, services: ServicesDep) -> ItemOut:
    item = await services.engine.catalog.get(principal.app_id_required, item_id)
    if item is None:
        raise not_found("item")
    return ItemOut(id=item.id, fields=dict(item.fields))


@router.delete("/v1/catalog/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(item_id: ItemPath, principal: Server, services: ServicesDep) -> None:
    if not await services.engine.catalog.delete(principal.app_id_required, item_id):
        raise not_found("item")


@router.get("/v1/users/{external_id}/picks")
async def user_picks(
    external_id: Annotated[str, Path(min_length=1, max_length=255)],
    principal: Server,
    services: ServicesDep,
    stores: StoresDep,
) -> PicksOut:
    """The user's top 10 items now, as a `pick: {"strategy": "for_you"}` would rank them."""
    app_id = principal.app_id_required
    user = await stores.users.get(app_id, external_id)
    if user is None:
        raise not_found("user")
    now = services.clock.now()
    ranked = await services.engine.renderer.picks_for(app_id, user.id, now)
    return PicksOut(
        user_id=external_id,
        computed_at=at(now),
        picks=[PickOut(item=dict(s.item.fields), score=s.score, parts=dict(s.parts)) for s in ranked],
    )
