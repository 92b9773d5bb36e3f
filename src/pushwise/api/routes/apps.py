"""`/v1/apps`: create and inspect apps (admin), rotate their keys (admin or the app's server key)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from pushwise.api.audit import Audit
from pushwise.api.auth import Admin, authenticator_of
from pushwise.api.deps import ManagedApp, StoresDep
from pushwise.api.errors import not_found
from pushwise.api.schemas.apps import AppCreatedOut, AppIn, AppOut, AppPage, KeyCreatedOut, KeyIn, KeyOut
from pushwise.api.schemas.common import at

router = APIRouter(prefix="/v1/apps", tags=["apps"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_app(body: AppIn, _admin: Admin, stores: StoresDep, audit: Audit) -> AppCreatedOut:
    created = await stores.apps.create_with_keys(body.name)
    await audit.record("app.create", created.app.id)
    return AppCreatedOut(
        id=created.app.id,
        name=created.app.name,
        server_key=created.server_key.secret,
        client_key=created.client_key.secret,
        created_at=at(created.app.created_at),
    )


@router.get("")
async def list_apps(_admin: Admin, stores: StoresDep) -> AppPage:
    return AppPage(items=[AppOut.of(app) for app in await stores.apps.list_all()])


@router.get("/{app_id}")
async def get_app(app: ManagedApp, stores: StoresDep) -> AppOut:
    return AppOut.of(app, await stores.keys.list_for_app(app.id))


@router.post("/{app_id}/keys", status_code=status.HTTP_201_CREATED)
async def issue_key(body: KeyIn, app: ManagedApp, stores: StoresDep, audit: Audit) -> KeyCreatedOut:
    """A new key; the old ones stay valid until revoked, so clients can roll over without downtime."""
    issued = await stores.keys.issue(body.kind, app.id)
    await audit.record("key.issue", app.id, issued.record.id)
    return KeyCreatedOut.issued(issued)


@router.delete("/{app_id}/keys/{key_id}")
async def revoke_key(
    key_id: str, app: ManagedApp, stores: StoresDep, request: Request, audit: Audit
) -> KeyOut:
    revoked = await stores.keys.revoke(app.id, key_id)
    if revoked is None:
        raise not_found("key")
    record, key_hash = revoked
    authenticator_of(request).forget(key_hash, record.id)
    await audit.record("key.revoke", app.id, record.id)
    return KeyOut.of(record)
