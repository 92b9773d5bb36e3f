"""Provisioning for the command line: admin keys and apps, outside the HTTP API."""

from __future__ import annotations

from pushwise.bootstrap import build_services
from pushwise.settings import Settings
from pushwise.store.apps import AppRepository
from pushwise.store.keys import KeyRepository


async def create_admin_key(settings: Settings) -> str:
    services = build_services(settings)
    try:
        return (await KeyRepository(services.db, services.clock).issue("admin", None)).secret
    finally:
        await services.db.dispose()


async def create_app_with_keys(settings: Settings, name: str) -> dict[str, str]:
    services = build_services(settings)
    try:
        created = await AppRepository(services.db, services.clock).create_with_keys(name)
    finally:
        await services.db.dispose()
    return {
        "app_id": created.app.id,
        "name": created.app.name,
        "server_key": created.server_key.secret,
        "client_key": created.client_key.secret,
    }
