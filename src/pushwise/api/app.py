"""The HTTP application: `create_app(services)` wires routes, auth, errors and background services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI

import pushwise
from pushwise.api.auth import KeyAuthenticator
from pushwise.api.body_limit import BodyLimit
from pushwise.api.deps import Stores
from pushwise.api.errors import install_error_handlers
from pushwise.api.routes import (
    alerts,
    apps,
    clicks,
    devices,
    events,
    experiments,
    health,
    metrics,
    notifications,
    preference_page,
    preferences,
    providers,
    receipts,
    users,
)
from pushwise.api.routes.channel_routes import channel_routers
from pushwise.bootstrap import Services
from pushwise.dashboard import routes as dashboard_routes

log = logging.getLogger(__name__)


class BackgroundService(Protocol):
    """Something that runs beside the API for the app's lifetime (delivery workers, schedulers)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_app(services: Services, *, background: Sequence[BackgroundService] = ()) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started: list[BackgroundService] = []
        try:
            # monitoring first: it flushes last
            own: tuple[BackgroundService, ...] = (services.monitoring, services.checkpoints)
            for service in (*own, *background):
                await service.start()
                started.append(service)
            yield
        finally:
            for service in reversed(started):
                try:
                    await service.stop()
                except Exception:  # one that cannot stop cleanly must not keep the rest running
                    log.exception("stopping %s failed", type(service).__name__)

    app = FastAPI(
        title="Pushwise",
        version=pushwise.__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        # Bearer keys, not cookies, authenticate: a JSON body without a Content-Type is safe to accept.
        strict_content_type=False,
    )
    stores = Stores.build(services)
    app.state.services = services
    app.state.stores = stores
    app.state.authenticator = KeyAuthenticator(stores.keys, services.clock, services.settings.admin_key)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=services.settings.max_body_bytes)
    # Routes are matched in order: the hottest path (sending) is tried first.
    for module in (notifications, devices, events, health, apps, providers, users, preferences, receipts):
        app.include_router(module.router)
    app.include_router(alerts.router)
    app.include_router(experiments.router)
    app.include_router(metrics.router)
    app.include_router(clicks.router)
    app.include_router(dashboard_routes.router)
    app.include_router(preference_page.router)
    app.state.inbox_feed = services.inbox_feed
    for router in channel_routers:
        app.include_router(router)
    return app
